// The console's calls to its API (docs/api.md, same origin): JSON in and out, errors as ApiError, and what the
// API serves the console to show and check (GET /console/config.json, buyer_messaging.console): the marketplaces,
// the content types, the order id pattern, the longest file name, a sentence for each error name.
//
// And the sellers the signed-in user acts for (GET /sellers): a picker when there are several (its choice kept for
// the browser session), the seller every send, upload and lookup names, and a banner for each seller that must
// authorize the app again or whose authorization ends within 30 days. A deployment never told its seller lists
// none: the page then names no seller, as before sellers were named. (Here, not a module of its own: one more file
// would make a first page load more requests than the console's public routes take at once, template.yaml.)

import { $, el, fill, isCount, lookUp, objectOr, plural, show, state, textOf } from "./page.js";
import { signOut } from "./signin.js";

/** The console's configuration: how it signs in, and the facts above. */
export async function loadConfig() {
  const response = await fetch(new URL("console/config.json", document.baseURI), { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return response.json();
}

/** The workflow's error name (README "Errors") in words for a seller, or "" for a name the API gave none. */
export const errorText = (name) => lookUp(state.config.errors, name);

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const answer = objectOr(body, {});
    super(textOf(answer.message) || `The server answered ${status}.`);
    this.status = status;
    // docs/api.md "Errors": {error, message, errors: [{field, message}]}, each read as text whatever came.
    this.body = { ...answer, error: textOf(answer.error), message: textOf(answer.message) };
    this.retryAfter = retryAfter;
  }

  /**
   * The field errors that say something, both parts as text. Messages are predicates of the field ("is 2,345
   * characters; …"); one without words still says the field is wrong, in words, not "null".
   */
  get fieldErrors() {
    const errors = Array.isArray(this.body.errors) ? this.body.errors : [];
    return errors
      .filter((item) => item !== null && typeof item === "object" && (textOf(item.field) || textOf(item.message)))
      .map((item) => ({ field: textOf(item.field), message: textOf(item.message) || "is not valid" }));
  }
}

/** A request to the console's API with the ID token when signed in; an unreachable server is ApiError 0. */
async function request(method, path, { body, headers = {} } = {}) {
  const sent = { ...headers };
  if (body !== undefined) sent["content-type"] = "application/json";
  if (state.auth.token) sent.authorization = `Bearer ${state.auth.token}`;
  try {
    // Relative to the page, so the console also works under a path prefix (a custom domain's base path).
    return await fetch(new URL(path, document.baseURI), {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, {
      error: "NetworkError",
      message: "The console could not reach the server. Check the connection and try again.",
    });
  }
}

/** A refused call as ApiError (the answer's JSON error, docs/api.md); a 401 signs the user out. */
async function refused(response) {
  const raw = await response.text();
  let data = null;
  try {
    data = raw ? JSON.parse(raw) : null;
  } catch {
    data = { message: raw.slice(0, 300) };
  }
  if (response.status === 401 && state.config && state.config.auth) {
    signOut("Your session has ended. Sign in again.");
  }
  return new ApiError(response.status, data, response.headers.get("retry-after"));
}

/** A call to the console's API: JSON in and out, errors as ApiError. */
export async function api(method, path, { body, headers = {} } = {}) {
  const response = await request(method, path, { body, headers: { accept: "application/json", ...headers } });
  if (!response.ok) throw await refused(response);
  const raw = await response.text();
  try {
    return raw ? JSON.parse(raw) : null;
  } catch {
    return { message: raw.slice(0, 300) };
  }
}

/** A file the API serves as an attachment (a campaign's CSV): its bytes and the name Content-Disposition gives. */
export async function apiFile(path) {
  const response = await request("GET", path);
  if (!response.ok) throw await refused(response);
  const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "");
  return { blob: await response.blob(), name: name ? name[1] : path.split("/").pop() };
}

/** One sentence for a failed API call, by status (docs/api.md "Status codes"). */
export function describeApiError(error) {
  if (!(error instanceof ApiError)) return textOf(error && error.message) || "Something went wrong in the page.";
  const message = error.body.message;
  switch (error.status) {
    case 0:
      return error.message;
    case 401:
      return "Your session has ended. Sign in again.";
    case 403:
      return "You are not allowed to do this. Ask an administrator.";
    case 409:
      if (error.body.error !== "IdempotencyKeyReused") return message || `The server answered ${error.status}.`;
      return (
        "A send with this key was already made with different content. Nothing new was sent; " +
        "press Send again to send this version."
      );
    case 502: {
      const words = errorText(error.body.error) || "Amazon refused this app's credentials.";
      return `${words} ${message}`.trim();
    }
    case 503: {
      const seconds = Number.parseInt(error.retryAfter || "", 10);
      const when = Number.isFinite(seconds) && seconds > 0 ? ` in ${seconds} second${seconds === 1 ? "" : "s"}` : "";
      return `Amazon is busy, try again${when}.`;
    }
    default:
      return message || `The server answered ${error.status}.`;
  }
}

// --- the user's sellers -------------------------------------------------------------------------------------

const CHOSEN = "buyer-messaging.seller";
const SOON_DAYS = 30;

function sellerOf(value) {
  const seller = value !== null && typeof value === "object" ? value : {};
  return {
    id: textOf(seller.sellingPartnerId),
    needsAuthorization: seller.status === "needsAuthorization",
    ends: textOf(seller.authorizationExpiresAt).slice(0, 10),
    daysLeft: isCount(seller.daysLeft) ? seller.daysLeft : null,
  };
}

/** The banner's sentence for a seller, or "" when it needs none. */
export function bannerText(seller) {
  if (seller.needsAuthorization) return `Seller ${seller.id} needs to authorize the app again: its messages wait.`;
  if (seller.daysLeft === null || !seller.ends || seller.daysLeft > SOON_DAYS) return "";
  const when = seller.daysLeft === 0 ? "today" : `in ${plural(seller.daysLeft, "day")}`;
  return `Seller ${seller.id}'s authorization ends on ${seller.ends}, ${when}.`;
}

/** GET /sellers, then the picker and the banners. A refusal leaves the page naming no seller (the API says why). */
export async function loadSellers() {
  let answer = null;
  try {
    answer = await api("GET", "sellers");
  } catch {
    answer = null;
  }
  const listed = answer !== null && typeof answer === "object" && Array.isArray(answer.sellers) ? answer.sellers : [];
  state.sellers = listed.map(sellerOf).filter((seller) => seller.id);
  const ids = state.sellers.map((seller) => seller.id);
  const kept = window.sessionStorage.getItem(CHOSEN);
  state.seller = ids.includes(kept) ? kept : ids[0] || null;
  const picker = $("seller-picker");
  fill(picker, ...ids.map((id) => el("option", { value: id }, id)));
  if (state.seller) picker.value = state.seller;
  show("seller-choice", ids.length > 1);
  const banners = state.sellers.map(bannerText).filter(Boolean);
  fill($("seller-banners"), ...banners.map((text) => el("p", { class: "banner" }, text)));
  show("seller-banners", banners.length > 0);
}

export function sellerChosen() {
  state.seller = $("seller-picker").value || null;
  if (state.seller) window.sessionStorage.setItem(CHOSEN, state.seller);
}

/** The body fields that name the chosen seller (none when the deployment names none). */
export const sellerField = () => (state.seller ? { sellingPartnerId: state.seller } : {});

/** The query parameters that name the chosen seller. */
export const sellerQuery = () => (state.seller ? { sellingPartnerId: state.seller } : {});
