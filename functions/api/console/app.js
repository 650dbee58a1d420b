// Seller console: order -> message type -> form from the type's rules -> upload to S3 -> send -> live timeline.
//
// Plain ES module, no build step, no dependencies: the API function serves this file as it is. It talks only
// to the HTTP API of docs/api.md (same origin), to S3 through the presigned POSTs the API hands out, and,
// when the deployment has a Cognito user pool, to Cognito's InitiateAuth.
//
// Content Security Policy: no inline scripts or handlers, no eval, no inline style attributes. Everything
// shown that comes from the API or Amazon (titles, descriptions, causes) is set as text, never as HTML.

// marketplaces:start — a unit test keeps these in step with layers/shared/buyer_messaging/marketplaces.py
const MARKETPLACES = [
  ["ATVPDKIKX0DER", "US", "United States", "na"],
  ["A2EUQ1WTGCTBG2", "CA", "Canada", "na"],
  ["A1AM78C64UM0Y8", "MX", "Mexico", "na"],
  ["A2Q3Y263D00KWC", "BR", "Brazil", "na"],
  ["A1F83G8C2ARO7P", "UK", "United Kingdom", "eu"],
  ["A1PA6795UKMFR9", "DE", "Germany", "eu"],
  ["A13V1IB3VIYZZH", "FR", "France", "eu"],
  ["APJ6JRA9NG5V4", "IT", "Italy", "eu"],
  ["A1RKKUPIHCS9HS", "ES", "Spain", "eu"],
  ["A1805IZSGTT6HS", "NL", "Netherlands", "eu"],
  ["A2NODRKZP88ZB9", "SE", "Sweden", "eu"],
  ["A1C3SOZRARQ6R3", "PL", "Poland", "eu"],
  ["A33AVAJ2PDY3EV", "TR", "Türkiye", "eu"],
  ["A21TJRUUN4KGV", "IN", "India", "eu"],
  ["A2VIGQ35RCS4UG", "AE", "United Arab Emirates", "eu"],
  ["A17E79C6D8DWNP", "SA", "Saudi Arabia", "eu"],
  ["ARBP9OOSHTCHU", "EG", "Egypt", "eu"],
  ["AMEN7PMS3EDWL", "BE", "Belgium", "eu"],
  ["A28R8C7NBKEWEA", "IE", "Ireland", "eu"],
  ["AE08WJ6YKNBMC", "ZA", "South Africa", "eu"],
  ["A1VC38T7YXB528", "JP", "Japan", "fe"],
  ["A39IBJ37TRP1C6", "AU", "Australia", "fe"],
  ["A19VAU5U5O7RUS", "SG", "Singapore", "fe"],
];
// marketplaces:end

// content-types:start — a unit test keeps these in step with catalog.ATTACHMENT_CONTENT_TYPES. The API lists
// the allowed extensions; the content type sent for a file is the one the workflow derives from its name.
const CONTENT_TYPES = {
  ".txt": "text/plain",
  ".pdf": "application/pdf",
  ".doc": "application/msword",
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".png": "image/png",
};
// content-types:end

const REGION_NAMES = { na: "North America", eu: "Europe", fe: "Far East" };
// The same pattern as buyer_messaging.models.AMAZON_ORDER_ID_PATTERN.
const ORDER_ID_PATTERN = /^[0-9A-Z]{3}-[0-9]{7}-[0-9]{7}$/;
const FILE_NAME_MAX_LENGTH = 255;
const POLL_INTERVAL_MS = 1000;
const POLL_GIVE_UP_MS = 15 * 60 * 1000; // the workflow's retries end well before this
const NOT_RECORDED_YET_MS = 30 * 1000; // a status record may trail the 202 by a moment

const STATUS_LABELS = {
  received: "Request received",
  validated: "Checked against the order's rules",
  uploading: "Uploading the files to Amazon",
  sent: "Sent: Amazon accepted the message and emails the buyer",
  failed: "Not sent",
  unknown: "No answer from Amazon: the message may have reached the buyer",
  // Not a status: the request keeps its status while it waits (README "Pacing Amazon's quota").
  waitingForQuota: "Waiting for its turn in Amazon's quota since",
};

// The workflow's error names (README "Errors") in words for a seller; the API's `cause` adds the details.
const FRIENDLY_ERRORS = {
  MessageTypeNotAvailable:
    "Amazon does not allow this message type for this order now. It may depend on the order's state, or it can " +
    "be sent only once and already was.",
  InvalidMessageText: "The text breaks Amazon's rules for this message type.",
  InvalidAttachments: "A file breaks Amazon's rules for this message type (number, type, total size or name).",
  AttachmentNotFound: "A file could not be found any more. Attach it again and send again.",
  AttachmentChanged: "A file was replaced while the message was being prepared. Send again.",
  InvalidRequest: "The request was not complete or not well formed.",
  UnknownMessageType: "This is not a message type Amazon knows.",
  SpApiThrottled: "Amazon was too busy even after several retries. Try again in a minute.",
  SpApiUnavailable: "Amazon could not be reached even after several retries. Try again later.",
  SendOutcomeUnknown:
    "The message went to Amazon but no answer came back, so the buyer may already have it. It was not sent " +
    "again: look at the order's messages in Seller Central before sending it again.",
  SpApiTokenExpired:
    "Amazon kept refusing fresh sign-in tokens as expired, even after several retries. Try again later; if it " +
    "goes on, an administrator should check the app's authorization.",
  ActionSchemaUnreadable:
    "Amazon described this message type in a form the app cannot read, so nothing was sent. Try again later; " +
    "if it goes on, an administrator should report it.",
  LwaUnavailable: "Amazon's sign-in service could not be reached even after several retries. Try again later.",
  LwaInvalidGrant:
    "Amazon no longer accepts this app's authorization. The seller must authorize the app again in Seller " +
    "Central, and an administrator must store the new refresh token.",
  LwaRejected: "Amazon refused this app's credentials. An administrator must check the app's client id and secret.",
  CredentialsNotConfigured: "This app's Amazon credentials are not set up yet. Ask an administrator.",
  SpApiUnauthorized:
    "Amazon refused the request: this order does not allow this message now, or the app lacks the Buyer " +
    "Communication role.",
  SpApiInvalidInput: "Amazon rejected the message's content.",
  SpApiNotFound: "Amazon does not know this order in this marketplace.",
  UploadRejected: "Amazon's file storage refused a file.",
  UploadDestinationExpired: "The upload link Amazon gave expired before the file arrived. Send again.",
  QuotaWaitExpired:
    "Amazon's limit on requests for this seller left this message waiting past the deadline set for it, so it " +
    "was not sent. Send it again later, or ask an administrator about QuotaWaitDeadlineHours.",
  UploadUrlNotAllowed:
    "Amazon gave an upload address this app does not trust, so nothing was sent. An administrator should check " +
    "UPLOAD_URL_ALLOWED_HOSTS.",
  UploadEndpointUnavailable: "Amazon's file storage could not be reached even after several retries. Send again later.",
  StagingAccessDenied: "The workflow may not read a file. An administrator should check the bucket's permissions.",
  StagingUnavailable: "The file storage was unavailable even after several retries. Send again later.",
  WorkflowTableUnavailable: "The workflow's records were unavailable even after several retries. Send again later.",
  EventBusUnavailable: "The workflow could not announce the outcome even after several retries. Ask an administrator.",
  SendInProgress:
    "Another attempt to send this message was still running. Look at the order's messages before sending again.",
  ConfigurationError: "The workflow is misconfigured. Ask an administrator.",
  WorkflowError: "The workflow stopped unexpectedly. Ask an administrator to look at the execution.",
};

// ------------------------------------------------------------------------------------------------ helpers

const $ = (id) => document.getElementById(id);

/**
 * The nodes for a list of children: elements as they are, strings and finite numbers as text (never parsed as
 * HTML). null, undefined, false and "" stand for "nothing here" (`cond ? el(...) : null`) and become no node:
 * DOM's own append() would show them as the words "null" and "undefined". Anything else (an object, NaN) is a
 * bug that would show as "[object Object]" or "NaN": it throws instead, and the browser tests fail on it.
 */
function nodesOf(children) {
  const nodes = [];
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false || child === "") continue;
    if (child instanceof Node) nodes.push(child);
    else if (typeof child === "string") nodes.push(document.createTextNode(child));
    else if (typeof child === "number" && Number.isFinite(child)) nodes.push(document.createTextNode(String(child)));
    else throw new TypeError(`Not something to show on the page: ${Object.prototype.toString.call(child)}`);
  }
  return nodes;
}

/** An element with attributes and children (see nodesOf). Every node the page builds is made here. */
function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "className") element.className = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...nodesOf(children));
  return element;
}

/** Replaces what an element shows, by the same rules as el: never the DOM's own append() with a maybe-null. */
function fill(target, ...children) {
  target.replaceChildren(...nodesOf(children));
}

/** Adds to what an element shows, by the same rules as el. */
function add(target, ...children) {
  target.append(...nodesOf(children));
}

/** A text the API or Amazon gave, as a string: anything else (null, a number, an object) is no text at all. */
const textOf = (value) => (typeof value === "string" ? value : "");
const isCount = (value) => Number.isInteger(value) && value >= 0;
const objectOr = (value, otherwise) => (value !== null && typeof value === "object" ? value : otherwise);

/** A value looked up in one of this file's tables, never one inherited from Object ("constructor", …). */
const lookUp = (table, key) => (typeof key === "string" && Object.hasOwn(table, key) ? table[key] : "");

const numberFormat = new Intl.NumberFormat(navigator.language || "en-US");
const formatNumber = (n) => numberFormat.format(n);
/** A count with its noun: "1 file", "2 files", "2,000 characters". */
const plural = (n, noun) => `${formatNumber(n)} ${noun}${n === 1 ? "" : "s"}`;

/** Sizes in decimal units, like Amazon's "less than 10 MB" (10,000,000 bytes). */
function formatBytes(bytes) {
  if (bytes < 1000) return `${formatNumber(bytes)} bytes`;
  if (bytes < 1_000_000) return `${formatNumber(Math.round(bytes / 100) / 10)} KB`;
  return `${formatNumber(Math.round(bytes / 100_000) / 10)} MB`;
}

/** Characters as the API counts them (Python's len: code points, so an emoji is one, not two). */
const characterCount = (text) => [...text].length;

function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function setError(id, message) {
  const target = $(id);
  const text = textOf(message);
  if (target && target.textContent !== text) target.textContent = text;
}

function markInvalid(input, invalid) {
  if (!input) return;
  if (invalid) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function show(section, visible = true) {
  $(section).hidden = !visible;
}

/** Move focus to a section's heading so keyboard and screen-reader users land where the page went next. */
function focusHeading(id) {
  const heading = $(id);
  heading.focus({ preventScroll: true });
  heading.scrollIntoView({ block: "start", behavior: "smooth" });
}

function announce(message) {
  setError("page-status", message);
}

// ------------------------------------------------------------------------------------------------ state

const state = {
  config: null,
  auth: { token: null, expiresAt: 0, user: "" },
  order: null, // {amazonOrderId, marketplaceId, buyerLocale}
  types: [],
  type: null,
  files: [], // {id, file, name, staged: key|null}
  fileRejections: [],
  fileSeq: 0,
  idempotencyKey: null, // one per send attempt: a retry of the same content repeats the same key
  sending: false,
  finished: false, // the message shown was sent (or failed): the form shows what went, read-only
  pollingFor: null,
};

// ------------------------------------------------------------------------------------------------ the API

class ApiError extends Error {
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

/** A call to the console's API: JSON in and out, the ID token when signed in, errors as ApiError. */
async function api(method, path, { body, headers = {} } = {}) {
  const sent = { accept: "application/json", ...headers };
  if (body !== undefined) sent["content-type"] = "application/json";
  if (state.auth.token) sent.authorization = `Bearer ${state.auth.token}`;
  let response;
  try {
    // Relative to the page, so the console also works under a path prefix (a custom domain's base path).
    response = await fetch(new URL(path, document.baseURI), {
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
  const raw = await response.text();
  let data = null;
  try {
    data = raw ? JSON.parse(raw) : null;
  } catch {
    data = { message: raw.slice(0, 300) };
  }
  if (response.ok) return data;
  if (response.status === 401 && state.config && state.config.auth) {
    signOut("Your session has ended. Sign in again.");
  }
  throw new ApiError(response.status, data, response.headers.get("retry-after"));
}

/** One sentence for a failed API call, by status (docs/api.md "Status codes"). */
function describeApiError(error) {
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
      return (
        "A send with this key was already made with different content. Nothing new was sent; " +
        "press Send again to send this version."
      );
    case 502: {
      const words = lookUp(FRIENDLY_ERRORS, error.body.error) || "Amazon refused this app's credentials.";
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

// ------------------------------------------------------------------------------------------------ sign-in

const TOKEN_KEY = "buyer-messaging.console.session";

function restoreSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
    if (saved && saved.token && saved.expiresAt > Date.now() + 60_000) state.auth = saved;
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

/** The user's email from the ID token, for display only (the API checks the token; this page cannot). */
function userOf(idToken) {
  try {
    const payload = idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "="));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    return String(claims.email || claims["cognito:username"] || "");
  } catch {
    return "";
  }
}

async function signIn(username, password) {
  const { region, clientId } = state.config.auth;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(String(region))) throw new Error("The console's sign-in region is not valid.");
  let response;
  try {
    response = await fetch(`https://cognito-idp.${region}.amazonaws.com/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: clientId,
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    });
  } catch {
    throw new Error("The sign-in service could not be reached. Check the connection and try again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(data.__type || "").split("#").pop();
    if (type === "NotAuthorizedException" || type === "UserNotFoundException") {
      throw new Error("Wrong email or password.");
    }
    if (type === "PasswordResetRequiredException" || type === "UserNotConfirmedException") {
      throw new Error("Your account must be set up by an administrator before you can sign in.");
    }
    if (type === "TooManyRequestsException") throw new Error("Too many attempts. Wait a minute and try again.");
    throw new Error(data.message || `Sign-in failed (${response.status}).`);
  }
  if (data.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    // Accounts are created by an administrator with a temporary password; this console does not change
    // passwords. `aws cognito-idp admin-set-user-password --permanent` ends the challenge.
    throw new Error(
      "Your account still has its temporary password. Ask an administrator to set a permanent password for " +
        "you, then sign in with it.",
    );
  }
  if (data.ChallengeName) {
    throw new Error(`Sign-in needs a step this console does not support (${data.ChallengeName}). Ask an administrator.`);
  }
  const result = data.AuthenticationResult || {};
  if (!result.IdToken) throw new Error("The sign-in service gave no token.");
  state.auth = {
    token: result.IdToken,
    expiresAt: Date.now() + Number(result.ExpiresIn || 3600) * 1000,
    user: userOf(result.IdToken) || username,
  };
  // Only the short-lived ID token, and only for this tab: a reload does not sign out, closing the tab does.
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(state.auth));
}

function signOut(message = "") {
  state.auth = { token: null, expiresAt: 0, user: "" };
  sessionStorage.removeItem(TOKEN_KEY);
  state.pollingFor = null;
  for (const id of ["order-section", "type-section", "message-section", "progress-section", "session"]) show(id, false);
  show("signin-section");
  setError("signin-error", message);
  focusHeading("signin-title");
}

function showSession() {
  const signedIn = Boolean(state.config.auth && state.auth.token);
  show("session", signedIn);
  $("session-user").textContent = signedIn ? `Signed in${state.auth.user ? ` as ${state.auth.user}` : ""}` : "";
}

// ------------------------------------------------------------------------------------------------ 1. order

function fillMarketplaces() {
  const select = $("marketplace");
  for (const [region, regionName] of Object.entries(REGION_NAMES)) {
    const group = el("optgroup", { label: regionName });
    for (const [id, code, name, of] of MARKETPLACES) {
      if (of === region) add(group, el("option", { value: id }, `${name} (${code}) · ${id}`));
    }
    add(select, group);
  }
  select.value = MARKETPLACES[0][0];
}

function readOrder() {
  const input = $("order-id");
  const amazonOrderId = input.value.trim().toUpperCase();
  const ok = ORDER_ID_PATTERN.test(amazonOrderId);
  setError("order-id-error", ok ? "" : "Enter the order id like 123-1234567-1234567 (3, 7 and 7 digits).");
  markInvalid(input, !ok);
  return ok ? { amazonOrderId, marketplaceId: $("marketplace").value } : null;
}

async function findMessageTypes(event) {
  event.preventDefault();
  setError("order-error", "");
  setError("marketplace-error", "");
  markInvalid($("marketplace"), false);
  const order = readOrder();
  if (!order) {
    $("order-id").focus();
    return;
  }
  $("order-id").value = order.amazonOrderId;
  const button = $("find-types");
  button.disabled = true;
  announce("Looking up the message types Amazon allows for this order…");
  try {
    const query = new URLSearchParams({ marketplaceId: order.marketplaceId });
    const found = await api("GET", `orders/${encodeURIComponent(order.amazonOrderId)}/message-types?${query}`);
    const answer = objectOr(found, {});
    state.order = { ...order, buyerLocale: textOf(answer.buyerLocale) || null };
    state.types = Array.isArray(answer.messageTypes) ? answer.messageTypes.map(messageTypeOf) : [];
    resetMessage();
    renderTypes();
    show("message-section", false);
    show("progress-section", false);
    show("type-section");
    announce("");
    focusHeading("type-title");
  } catch (error) {
    announce("");
    const { first } = showFieldErrors(error instanceof ApiError ? error.fieldErrors : []);
    setError("order-error", describeApiError(error));
    if (first) first.focus();
  } finally {
    button.disabled = false;
  }
}

/** Editing the order after its types were shown hides what belonged to the previous order. */
function orderEdited() {
  if (state.sending || !state.order) return;
  const changed =
    $("order-id").value.trim().toUpperCase() !== state.order.amazonOrderId ||
    $("marketplace").value !== state.order.marketplaceId;
  if (changed) {
    for (const id of ["type-section", "message-section", "progress-section"]) show(id, false);
    state.pollingFor = null;
  }
  markInvalid($("order-id"), false);
  markInvalid($("marketplace"), false);
  setError("order-id-error", "");
  setError("marketplace-error", "");
}

// ------------------------------------------------------------------------------------------------ 2. type

function languageName(locale) {
  try {
    const names = new Intl.DisplayNames([navigator.language || "en"], { type: "language" });
    const name = names.of(locale);
    return name && name !== locale ? `${name} (${locale})` : locale;
  } catch {
    return locale;
  }
}

/**
 * One entry of GET /orders/{id}/message-types (docs/api.md), read once as the rest of the page uses it: texts are
 * strings, limits whole numbers. A type whose limits do not read as numbers is listed but not offered: counting
 * against them would show "NaN" and "up to undefined files", and refuse nothing.
 */
function messageTypeOf(raw) {
  const type = objectOr(raw, {});
  const text = objectOr(type.text, null);
  const files = objectOr(type.attachments, null);
  const readable =
    (!text || (isCount(text.maxLength) && (text.minLength === undefined || isCount(text.minLength)))) &&
    (!files ||
      (isCount(files.minCount) &&
        isCount(files.maxCount) &&
        isCount(files.maxTotalBytes) &&
        Array.isArray(files.extensions) &&
        files.extensions.every((ext) => typeof ext === "string")));
  const messageType = textOf(type.messageType);
  return {
    messageType,
    title: textOf(type.title) || messageType,
    description: textOf(type.description),
    available: type.available === true && readable,
    disabledReason: readable ? textOf(type.disabledReason) : "The console could not read this type's rules.",
    text: text && {
      required: text.required === true,
      minLength: text.minLength === undefined ? 1 : text.minLength,
      maxLength: text.maxLength,
    },
    attachments: files && {
      minCount: files.minCount,
      maxCount: files.maxCount,
      extensions: files.extensions,
      maxTotalBytes: files.maxTotalBytes,
    },
    coverageDates: type.coverageDates === true,
  };
}

/** "1 to 5 files", "up to 1 file", "1 file": how many files a type takes. */
function fileCountRule({ minCount, maxCount }) {
  if (minCount === 0) return `up to ${plural(maxCount, "file")}`;
  if (minCount === maxCount) return plural(maxCount, "file");
  return `${formatNumber(minCount)} to ${plural(maxCount, "file")}`;
}

function rulesOf(type) {
  const rules = [];
  if (type.text) {
    rules.push(`${type.text.required ? "Text" : "Optional text"}, up to ${plural(type.text.maxLength, "character")}`);
  }
  if (type.attachments) rules.push(fileCountRule(type.attachments));
  if (type.coverageDates) rules.push("warranty dates");
  return rules.join(" · ");
}

function renderTypes() {
  const locale = state.order.buyerLocale;
  $("buyer-locale").textContent = locale
    ? `The buyer reads ${languageName(locale)} — write in their language.`
    : "Amazon did not say which language the buyer reads; write in the marketplace's language.";
  const list = $("type-list");
  fill(list);
  list.classList.remove("collapsed");
  show("type-hint");
  setError("type-error", "");
  state.types.forEach((type, index) => {
    const base = `type-${index}`;
    const described = [`${base}-description`, `${base}-rules`];
    if (!type.available) described.push(`${base}-reason`);
    // The button shows only the title, so its accessible name is exactly what it shows (WCAG 2.5.3, Label in
    // Name: a speech-input user says what they see). Description, rules and reason are its description, beside
    // it in the card; a click anywhere on the card chooses the type (typeClicked).
    const button = el(
      "button",
      {
        type: "button",
        className: "type-button",
        "data-index": index,
        "aria-pressed": "false",
        // Unavailable types stay focusable (aria-disabled, not disabled) so keyboard users reach the reason.
        "aria-disabled": type.available ? null : "true",
        "aria-describedby": described.join(" "),
      },
      type.title,
    );
    add(
      list,
      el(
        "li",
        { className: "type-item", "data-index": index },
        button,
        el("span", { className: "type-description", id: `${base}-description` }, type.description),
        el("span", { className: "type-rules", id: `${base}-rules` }, rulesOf(type)),
        type.available
          ? null
          : el(
              "span",
              { className: "type-reason", id: `${base}-reason` },
              `Not available: ${type.disabledReason || "Amazon does not allow it for this order now."}`,
            ),
      ),
    );
  });
  if (!state.types.some((type) => type.available)) {
    setError("type-error", "Amazon allows no message type for this order now.");
  }
}

function typeClicked(event) {
  const card = event.target.closest(".type-item");
  if (!card || state.sending) return;
  // The whole card is the mouse's and the finger's target; a click that ends selecting its text chooses nothing.
  if (!event.target.closest(".type-button") && String(window.getSelection() || "")) return;
  const type = state.types[Number(card.dataset.index)];
  if (!type) return;
  if (!type.available) {
    setError("type-error", `${type.title}: ${type.disabledReason || "not available for this order now."}`);
    return;
  }
  chooseType(type);
}

function chooseType(type) {
  if (state.finished) resetMessage(); // a new message, not an edit of the one that went
  state.type = type;
  state.idempotencyKey = null;
  state.fileRejections = [];
  for (const button of $("type-list").querySelectorAll(".type-button")) {
    button.setAttribute("aria-pressed", String(state.types[Number(button.dataset.index)] === type));
  }
  // Only the chosen type stays in view (a phone screen is short); "Choose another type" shows them all.
  $("type-list").classList.add("collapsed");
  show("type-hint", false);
  setError("type-error", "");
  renderMessageForm();
  show("progress-section", false);
  show("message-section");
  focusHeading("message-title");
}

// ------------------------------------------------------------------------------------------------ 3. message

function resetMessage() {
  state.finished = false;
  $("message-fieldset").disabled = false;
  $("change-type").hidden = false;
  state.type = null;
  state.files = [];
  state.fileRejections = [];
  state.idempotencyKey = null;
  $("message-text").value = "";
  $("coverage-start").value = "";
  $("coverage-end").value = "";
  fill($("file-list"));
  for (const id of ["text-error", "files-error", "coverage-start-error", "coverage-end-error", "send-error"]) {
    setError(id, "");
  }
}

function renderMessageForm() {
  const type = state.type;
  $("message-title-text").textContent = type.title;
  $("message-description").textContent = type.description;
  setError("send-error", "");

  show("text-field", Boolean(type.text));
  if (type.text) {
    $("text-optional").textContent = type.text.required ? "(required)" : "(optional)";
    $("message-text").required = Boolean(type.text.required);
  }

  show("files-field", Boolean(type.attachments));
  const input = $("file-input");
  if (type.attachments) {
    const { minCount, maxCount, extensions, maxTotalBytes } = type.attachments;
    input.accept = extensions.join(",");
    input.multiple = maxCount > 1;
    $("files-rule").textContent =
      minCount > 0 ? `(${minCount === maxCount ? minCount : `${minCount} to ${maxCount}`})` : `(optional, up to ${maxCount})`;
    $("files-hint").textContent =
      `${extensions.join(", ")} · at most ${plural(maxCount, "file")}, ` +
      `under ${formatBytes(maxTotalBytes)} in total. You can rename each file as the buyer will see it.`;
  }
  show("coverage-field", Boolean(type.coverageDates));
  renderFiles();
  check();
}

/** Files picked are added to the message (the picker can be used again); each is checked on the way in. */
function filesPicked() {
  const input = $("file-input");
  const rules = state.type && state.type.attachments;
  if (!rules) return;
  const allowed = (rules.extensions || []).map((ext) => ext.toLowerCase());
  const rejections = [];
  for (const file of input.files) {
    const ext = extensionOf(file.name);
    const total = state.files.reduce((sum, entry) => sum + entry.file.size, 0);
    if (!allowed.includes(ext) || !CONTENT_TYPES[ext]) {
      rejections.push(`${file.name} was not added: Amazon takes only ${allowed.join(", ")} files.`);
    } else if (file.size === 0) {
      rejections.push(`${file.name} was not added: it is empty.`);
    } else if (state.files.length >= rules.maxCount) {
      rejections.push(`${file.name} was not added: at most ${plural(rules.maxCount, "file")}.`);
    } else if (total + file.size >= rules.maxTotalBytes) {
      // Exact bytes: near the limit, "10 MB" against "under 10 MB" would explain nothing.
      rejections.push(
        `${file.name} was not added: the files would total ${formatNumber(total + file.size)} bytes; ` +
          `Amazon takes under ${formatNumber(rules.maxTotalBytes)} bytes.`,
      );
    } else {
      state.files.push({ id: ++state.fileSeq, file, name: file.name, staged: null });
    }
  }
  input.value = ""; // so picking the same file again after removing it fires "change"
  state.fileRejections = rejections;
  state.idempotencyKey = null;
  renderFiles();
  check();
}

function renderFiles() {
  const list = $("file-list");
  fill(list);
  state.files.forEach((entry, index) => {
    const id = `file-${entry.id}`;
    const count = state.files.length;
    const remove = el(
      "button",
      { type: "button", className: "secondary", "data-remove": entry.id, "aria-label": `Remove ${entry.file.name}` },
      "Remove",
    );
    const nameInput = el("input", {
      id: `${id}-name`,
      type: "text",
      value: entry.name,
      autocomplete: "off",
      spellcheck: "false",
      "data-rename": entry.id,
      "aria-describedby": `${id}-meta ${id}-error`,
    });
    add(
      list,
      el(
        "li",
        { className: "file-item", id },
        el(
          "div",
          { className: "file-meta", id: `${id}-meta` },
          el("span", {}, `File ${index + 1}: ${entry.file.name}`),
          el("span", {}, formatBytes(entry.file.size)),
        ),
        el(
          "label",
          { for: `${id}-name` },
          "Name shown to the buyer",
          count > 1 ? el("span", { className: "visually-hidden" }, ` (file ${index + 1} of ${count})`) : null,
        ),
        nameInput,
        el("p", { className: "error", id: `${id}-error` }),
        el("progress", {
          id: `${id}-progress`,
          max: "100",
          value: entry.staged ? "100" : "0",
          "aria-label": `Upload of ${entry.name}`,
          hidden: !entry.staged,
        }),
        remove,
      ),
    );
  });
}

function fileListClicked(event) {
  const button = event.target.closest("[data-remove]");
  if (!button || state.sending) return;
  const id = Number(button.dataset.remove);
  const index = state.files.findIndex((entry) => entry.id === id);
  state.files = state.files.filter((entry) => entry.id !== id);
  state.fileRejections = [];
  state.idempotencyKey = null;
  renderFiles();
  check();
  // Keep keyboard users in the list: focus the next file's name, else the picker.
  const next = state.files[Math.min(index, state.files.length - 1)];
  (next ? $(`file-${next.id}-name`) : $("file-input")).focus();
}

function fileRenamed(event) {
  const input = event.target.closest("[data-rename]");
  if (!input) return;
  const entry = state.files.find((item) => item.id === Number(input.dataset.rename));
  if (!entry) return;
  entry.name = input.value;
  state.idempotencyKey = null;
  const progress = $(`file-${entry.id}-progress`);
  if (progress) progress.setAttribute("aria-label", `Upload of ${entry.name}`);
  check();
}

/** Why the name the buyer sees would be refused (mirrors buyer_messaging.validation.file_name_problem). */
function fileNameProblem(name, originalName) {
  if (!name.trim()) return "Enter the name the buyer sees.";
  if (characterCount(name) > FILE_NAME_MAX_LENGTH) return `Use at most ${FILE_NAME_MAX_LENGTH} characters.`;
  if (/[\\/]/.test(name)) return "Use a plain file name, without / or \\.";
  // Control characters and invisible format characters (direction overrides can disguise "exe.pdf");
  // zero-width (non-)joiners are kept: Persian and Indic words need them.
  if (/[\p{Cc}]/u.test(name) || /[\p{Cf}]/u.test(name.replace(/[\u200c\u200d]/g, ""))) {
    return "Remove the invisible or control characters.";
  }
  if (name.startsWith(".") || name !== name.trim()) return "Do not start with a dot, or start or end with spaces.";
  const ext = extensionOf(name);
  const original = extensionOf(originalName);
  if (!CONTENT_TYPES[ext] || CONTENT_TYPES[ext] !== CONTENT_TYPES[original]) {
    return `Keep the ${original} ending: the buyer's computer opens the file by it.`;
  }
  return "";
}

function coverageDates() {
  const start = $("coverage-start").value;
  const end = $("coverage-end").value;
  // A date input gives a calendar day; the API wants ISO 8601 with a time zone: the start of that day, UTC.
  return {
    coverageStartDate: start ? `${start}T00:00:00Z` : null,
    coverageEndDate: end ? `${end}T00:00:00Z` : null,
  };
}

/**
 * Checks the form against the chosen type's rules, shows every problem next to its field and enables Send
 * only when nothing is wrong. Returns true when the message can be sent.
 */
function check() {
  const type = state.type;
  if (!type) return false;
  const blocked = []; // reasons shown nowhere else: said above the Send button
  let fieldProblems = 0; // problems already shown next to their field

  // Text: a live count against the limit.
  const textarea = $("message-text");
  const text = textarea.value;
  let textError = "";
  if (type.text) {
    const { maxLength, minLength, required } = type.text;
    const count = characterCount(text);
    const over = count > maxLength;
    const counter = $("text-count");
    counter.textContent = `${formatNumber(count)} / ${formatNumber(maxLength)} characters`;
    counter.classList.toggle("over", over);
    if (over) {
      const extra = count - maxLength;
      textError =
        `Too long by ${plural(extra, "character")}: ` +
        `this message type takes at most ${formatNumber(maxLength)}.`;
    } else if (text.trim() && count < minLength) {
      textError = `Write at least ${plural(minLength, "character")}.`;
    } else if (required && !text.trim()) {
      blocked.push("Write the message to the buyer: this type needs text.");
    }
  }
  setError("text-error", textError);
  markInvalid(textarea, Boolean(textError));
  if (textError) fieldProblems += 1;

  // Files: count, total size and each buyer-facing name. Files refused at the picker are only reported.
  const fileProblems = [];
  if (type.attachments) {
    const { minCount, maxCount, maxTotalBytes } = type.attachments;
    const total = state.files.reduce((sum, entry) => sum + entry.file.size, 0);
    if (state.files.length > maxCount) {
      const extra = state.files.length - maxCount;
      fileProblems.push(`Remove ${plural(extra, "file")}: this type takes at most ${formatNumber(maxCount)}.`);
    }
    // The workflow refuses a total equal to the limit too ("under 10 MB").
    if (total >= maxTotalBytes) {
      fileProblems.push(
        `The files total ${formatNumber(total)} bytes; Amazon takes under ${formatNumber(maxTotalBytes)} bytes.`,
      );
    }
    if (state.files.length < minCount) {
      blocked.push(`Attach at least ${plural(minCount, "file")}.`);
    }
    for (const entry of state.files) {
      const problem = fileNameProblem(entry.name, entry.file.name);
      setError(`file-${entry.id}-error`, problem);
      markInvalid($(`file-${entry.id}-name`), Boolean(problem));
      if (problem) fieldProblems += 1;
    }
  } else if (state.files.length) {
    fileProblems.push("This message type takes no files: remove them.");
  }
  setError("files-error", [...state.fileRejections, ...fileProblems].join(" "));
  markInvalid($("file-input"), fileProblems.length > 0);
  fieldProblems += fileProblems.length;

  // A type whose text and files are both optional still needs one of them.
  const hasText = Boolean(type.text && text.trim());
  if (!hasText && !state.files.length && !blocked.length && !fieldProblems) {
    blocked.push(type.text && type.attachments ? "Write a message or attach a file." : "The message is empty.");
  }

  // Warranty dates.
  let endError = "";
  if (type.coverageDates) {
    const { coverageStartDate, coverageEndDate } = coverageDates();
    if (coverageStartDate && coverageEndDate && coverageEndDate < coverageStartDate) {
      endError = "The warranty cannot end before it starts.";
      fieldProblems += 1;
    }
  }
  setError("coverage-start-error", "");
  setError("coverage-end-error", endError);
  markInvalid($("coverage-end"), Boolean(endError));

  const ok = blocked.length === 0 && fieldProblems === 0;
  $("send").disabled = !ok || state.sending;
  // Say why Send is disabled, right above it (a disabled button cannot be focused to ask).
  let why = "";
  if (blocked.length) why = `Send is disabled: ${blocked[0]}`;
  else if (fieldProblems) why = "Send is disabled until what is marked above is fixed.";
  setError("send-blocked", why);
  return ok;
}

function messageEdited() {
  state.idempotencyKey = null; // different content: a new send attempt
  setError("send-error", "");
  check();
}

/** Enter in a one-line field must not send the message by accident (implicit form submission). */
function preventImplicitSubmit(event) {
  if (event.key === "Enter" && event.target instanceof HTMLInputElement && event.target.type !== "file") {
    event.preventDefault();
  }
}

// ------------------------------------------------------------------------------------------------ upload + send

class UploadError extends Error {}

/** Where S3's XML error says what went wrong: <Error><Code>…</Code><Message>…</Message></Error>. */
function s3Problem(xhr) {
  try {
    const xml = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
    const code = xml.querySelector("Code")?.textContent || "";
    const message = xml.querySelector("Message")?.textContent || "";
    return { code, message };
  } catch {
    return { code: "", message: "" };
  }
}

/** Multipart POST straight to S3 with the presigned fields, reporting progress on the file's bar. */
function uploadToS3(entry, post) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields || {})) form.append(name, value);
    // S3 ignores every form field after the file: the file must come last.
    form.append("file", entry.file, entry.name);
    const progress = $(`file-${entry.id}-progress`);
    progress.hidden = false;
    progress.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", post.url);
    // fetch() cannot report upload progress; XMLHttpRequest can.
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = Math.round((100 * event.loaded) / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        progress.value = 100;
        resolve();
        return;
      }
      const { code, message } = s3Problem(xhr);
      const expired = code === "AccessDenied" && /expired/i.test(message);
      reject(
        new UploadError(
          expired
            ? `The upload link for ${entry.name} expired. Send again for a new one.`
            : `The file storage refused ${entry.name} (${code || xhr.status}${message ? `: ${message}` : ""}).`,
        ),
      );
    });
    xhr.addEventListener("error", () =>
      reject(
        new UploadError(
          `${entry.name} could not be uploaded: the connection to the file storage failed ` +
            "(or the bucket's CORS rules do not allow this page).",
        ),
      ),
    );
    xhr.addEventListener("abort", () => reject(new UploadError(`The upload of ${entry.name} was stopped.`)));
    xhr.send(form);
  });
}

/** A presigned POST for one file. Its 400 names fields of this call (fileName, size), said about the file. */
async function stageFile(entry) {
  try {
    return await api("POST", "attachments", {
      body: { fileName: entry.name, contentType: CONTENT_TYPES[extensionOf(entry.name)], size: entry.file.size },
    });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 400) throw error;
    const details = error.fieldErrors.map(({ field, message }) => `${field} ${message}`).join("; ");
    throw new UploadError(`${entry.name} was not accepted: ${details || error.body.message || "no reason given"}.`);
  }
}

/** Each API field error next to its field (docs/api.md: `errors[].field`). Returns the first field shown. */
function showFieldErrors(errors) {
  const general = [];
  let first = null;
  const place = (errorId, inputId, message) => {
    setError(errorId, message);
    const input = $(inputId);
    markInvalid(input, true);
    first = first || input;
  };
  for (const { field, message } of errors) {
    // Both spellings: "attachments[0].fileName" (the workflow's) and "attachments.0.fileName" (pydantic's).
    const file = /^attachments(?:\[(\d+)\]|\.(\d+))(?:\.(\w+))?$/.exec(field);
    if (field === "text") place("text-error", "message-text", `The text ${message}.`);
    else if (field === "attachments") place("files-error", "file-input", `Files: ${message}.`);
    else if (file && state.files[Number(file[1] ?? file[2])]) {
      const entry = state.files[Number(file[1] ?? file[2])];
      place(`file-${entry.id}-error`, `file-${entry.id}-name`, file[3] === "fileName" ? `This name ${message}.` : message);
    } else if (field === "coverageStartDate") place("coverage-start-error", "coverage-start", `Start date ${message}.`);
    else if (field === "coverageEndDate") place("coverage-end-error", "coverage-end", `End date ${message}.`);
    else if (field === "amazonOrderId") place("order-id-error", "order-id", `Order id ${message}.`);
    else if (field === "marketplaceId") place("marketplace-error", "marketplace", `Marketplace ${message}.`);
    else general.push(field ? `${field}: ${message}` : message);
  }
  return { first, general };
}

function setSending(sending) {
  state.sending = sending;
  $("message-fieldset").disabled = sending;
  $("change-type").disabled = sending;
  $("find-types").disabled = sending;
  if (sending) $("send").disabled = true;
  else check();
}

async function sendMessage(event) {
  event.preventDefault();
  if (state.sending) return; // a double click sends once
  setError("send-error", "");
  if (!check()) {
    const invalid = $("message-form").querySelector('[aria-invalid="true"]');
    (invalid || $("message-text")).focus();
    return;
  }
  setSending(true);
  // Generated once per attempt and kept until the content changes: retrying after a lost answer or a 503
  // repeats the key, and the API answers with the first request instead of messaging the buyer twice.
  state.idempotencyKey = state.idempotencyKey || newIdempotencyKey();
  const { amazonOrderId, marketplaceId } = state.order;
  const type = state.type;
  try {
    for (const [index, entry] of state.files.entries()) {
      if (entry.staged) continue; // uploaded by an earlier attempt: same key, same request body
      announce(`Uploading ${entry.name} (${index + 1} of ${state.files.length})…`);
      const post = await stageFile(entry);
      await uploadToS3(entry, post);
      entry.staged = post.key;
    }
    announce("Sending…");
    const body = { marketplaceId, messageType: type.messageType };
    const text = $("message-text").value;
    if (type.text && text.trim()) body.text = text;
    if (type.attachments && state.files.length) {
      body.attachments = state.files.map((entry) => ({ key: entry.staged, fileName: entry.name }));
    }
    if (type.coverageDates) {
      for (const [name, value] of Object.entries(coverageDates())) if (value) body[name] = value;
    }
    const accepted = await api("POST", `orders/${encodeURIComponent(amazonOrderId)}/messages`, {
      body,
      headers: { "Idempotency-Key": state.idempotencyKey },
    });
    announce("");
    startProgress(accepted);
  } catch (error) {
    announce("");
    setSending(false); // re-checks the form first, so the API's field errors below are not overwritten
    let shown = describeApiError(error);
    let first = null;
    if (error instanceof ApiError) {
      // A refused request (400) or a key already used for other content (409) started nothing: the next
      // attempt gets a new key. A 503 or a lost answer keeps it, so the retry cannot send twice.
      if (error.status === 400 || error.status === 409) state.idempotencyKey = null;
      const placed = showFieldErrors(error.fieldErrors);
      first = placed.first;
      if (error.status === 400 && lookUp(FRIENDLY_ERRORS, error.body.error)) {
        shown = lookUp(FRIENDLY_ERRORS, error.body.error);
      }
      if (placed.general.length) shown = `${shown} ${placed.general.join("; ")}.`;
    }
    setError("send-error", shown); // role="alert": read out wherever focus is
    // The field to fix, else Send to try again (disabled when the form needs fixing first: then the heading).
    if (first) first.focus();
    else if (!$("send").disabled) $("send").focus();
    else focusHeading("message-title");
  }
}

// ------------------------------------------------------------------------------------------------ 4. progress

function startProgress(answer) {
  const accepted = objectOr(answer, {});
  // docs/api.md: a 202 always names the request; without it there is nothing to follow, and the page says so.
  const requestId = textOf(accepted.requestId);
  $("request-id").textContent = requestId
    ? `Request ${requestId}${accepted.repeat === true ? " (already sent before: shown again)" : ""}`
    : "";
  fill($("timeline"));
  const outcome = $("outcome");
  outcome.className = "outcome waiting";
  fill(outcome, el("p", {}, "Working on it… this page follows the workflow by itself."));
  outcome.hidden = false;
  show("new-message", false);
  show("edit-again", false);
  show("progress-section");
  focusHeading("progress-title");
  if (!requestId) {
    outcomeNote("The server accepted the message but did not say which request it is: this page cannot follow it.");
    stopFollowing();
    return;
  }
  state.pollingFor = requestId;
  follow(requestId, textOf(accepted.statusUrl) || `messages/${encodeURIComponent(requestId)}`);
}

/** GET /messages/{requestId} (docs/api.md), read once: texts as strings, lists as lists. */
function statusOf(raw) {
  const record = objectOr(raw, {});
  const listOf = (value) => (Array.isArray(value) ? value.map((item) => objectOr(item, {})) : []);
  return {
    status: textOf(record.status),
    done: record.done === true,
    history: listOf(record.history).map((step) => ({ status: textOf(step.status), at: textOf(step.at) })),
    attachments: listOf(record.attachments).map((file) => ({
      fileName: textOf(file.fileName),
      size: isCount(file.size) ? file.size : null,
    })),
    error: textOf(record.error),
    cause: textOf(record.cause),
  };
}

function timeOf(iso) {
  const at = iso ? new Date(iso) : null; // new Date(null) would be 1970, shown as a time
  return at && !Number.isNaN(at.getTime()) ? at.toLocaleTimeString(undefined, { hour12: false }) : iso;
}

/** Appends the transitions not shown yet (a live region reads only what is new). */
function renderTimeline(record) {
  const list = $("timeline");
  for (const step of record.history.slice(list.children.length)) {
    add(
      list,
      el(
        "li",
        { className: step.status },
        el("span", { className: "label" }, lookUp(STATUS_LABELS, step.status) || step.status),
        step.at ? " " : null,
        step.at ? el("time", { className: "when", datetime: step.at }, timeOf(step.at)) : null,
      ),
    );
  }
}

/** "Invoice 1.pdf (1.2 KB)", or only the name when the record has no size. */
function describeFile({ fileName, size }) {
  const name = fileName || "a file without a name";
  return size === null ? name : `${name} (${formatBytes(size)})`;
}

function renderOutcome(record) {
  const outcome = $("outcome");
  if (record.status === "sent") {
    outcome.className = "outcome sent";
    const files = record.attachments.map(describeFile);
    fill(
      outcome,
      el("p", { className: "headline" }, "Sent. Amazon accepted the message and emails the buyer."),
      files.length ? el("p", {}, `Files: ${files.join(", ")}.`) : null,
    );
  } else if (record.status === "unknown") {
    // Never "Not sent": the buyer may have the message, and "Edit and send again" would invite a duplicate.
    outcome.className = "outcome failed";
    fill(
      outcome,
      el("p", { className: "headline" }, "Maybe sent."),
      el("p", {}, lookUp(FRIENDLY_ERRORS, "SendOutcomeUnknown")),
      record.cause ? el("p", {}, `Details: ${record.cause}`) : null,
      el("p", {}, "Error: ", el("code", {}, record.error || "SendOutcomeUnknown")),
    );
  } else {
    outcome.className = "outcome failed";
    const friendly = lookUp(FRIENDLY_ERRORS, record.error);
    fill(
      outcome,
      el("p", { className: "headline" }, "Not sent."),
      el("p", {}, friendly || record.cause || "The workflow ended without saying why."),
      friendly && record.cause ? el("p", {}, `Details: ${record.cause}`) : null,
      record.error ? el("p", {}, "Error: ", el("code", {}, record.error)) : null,
    );
  }
  outcome.hidden = false;
}

/** The request is over for this page: the message stays on screen as it went, read-only. */
function stopFollowing({ failed = false } = {}) {
  state.pollingFor = null;
  state.finished = true;
  setSending(false);
  $("message-fieldset").disabled = true;
  $("send").disabled = true;
  $("change-type").hidden = true;
  show("new-message");
  show("edit-again", failed);
}

function outcomeNote(message) {
  $("outcome").className = "outcome waiting";
  fill($("outcome"), el("p", {}, message));
}

async function follow(requestId, statusUrl) {
  const started = Date.now();
  let delay = POLL_INTERVAL_MS;
  const path = statusUrl.replace(/^\//, "");
  while (state.pollingFor === requestId) {
    try {
      const record = statusOf(await api("GET", path));
      if (state.pollingFor !== requestId) return;
      renderTimeline(record);
      if (record.done) {
        renderOutcome(record);
        stopFollowing({ failed: record.status === "failed" });
        return;
      }
      delay = POLL_INTERVAL_MS;
    } catch (error) {
      if (state.pollingFor !== requestId) return;
      const notYet = error instanceof ApiError && error.status === 404 && Date.now() - started < NOT_RECORDED_YET_MS;
      const passing = error instanceof ApiError && (error.status === 0 || error.status === 503);
      if (!notYet && !passing) {
        // The request may still be running: the form stays locked so a new key cannot send it twice.
        outcomeNote(`The progress could not be read (${describeApiError(error)}). Request id: ${requestId}.`);
        stopFollowing();
        return;
      }
      if (passing) delay = Math.min(delay * 2, 10_000); // back off while the API is busy or unreachable
    }
    if (Date.now() - started > POLL_GIVE_UP_MS) {
      outcomeNote(`Still running after ${POLL_GIVE_UP_MS / 60000} minutes. Request id: ${requestId}.`);
      stopFollowing();
      return;
    }
    await sleep(delay);
  }
}

function showAllTypes() {
  $("type-list").classList.remove("collapsed");
  show("type-hint");
  show("message-section", false);
  show("progress-section", false);
  focusHeading("type-title");
}

/** After a failure: the same message back in the form, to fix and send as a new request. */
function editAgain() {
  state.finished = false;
  // The failed request owns the old key (repeating it would only show that failure again), and its files may
  // be what failed (replaced, expired): a new attempt uploads them again under a new key.
  state.idempotencyKey = null;
  for (const entry of state.files) entry.staged = null;
  $("message-fieldset").disabled = false;
  $("change-type").hidden = false;
  show("progress-section", false);
  renderFiles();
  check();
  focusHeading("message-title");
}

function newMessage() {
  state.pollingFor = null;
  resetMessage();
  setSending(false);
  for (const button of $("type-list").querySelectorAll(".type-button")) button.setAttribute("aria-pressed", "false");
  showAllTypes();
}

// ------------------------------------------------------------------------------------------------ start

function wire() {
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter || $("signin-form").querySelector("button");
    button.disabled = true;
    setError("signin-error", "");
    try {
      await signIn($("signin-username").value.trim(), $("signin-password").value);
      $("signin-password").value = "";
      startConsole();
    } catch (error) {
      setError("signin-error", error.message);
      $("signin-password").focus();
    } finally {
      button.disabled = false;
    }
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("order-form").addEventListener("submit", findMessageTypes);
  $("order-id").addEventListener("input", orderEdited);
  $("marketplace").addEventListener("change", orderEdited);
  $("type-list").addEventListener("click", typeClicked);
  $("message-form").addEventListener("submit", sendMessage);
  $("message-form").addEventListener("keydown", preventImplicitSubmit);
  $("message-text").addEventListener("input", messageEdited);
  $("coverage-start").addEventListener("input", messageEdited);
  $("coverage-end").addEventListener("input", messageEdited);
  $("file-input").addEventListener("change", filesPicked);
  $("file-list").addEventListener("click", fileListClicked);
  $("file-list").addEventListener("input", fileRenamed);
  $("change-type").addEventListener("click", showAllTypes);
  $("new-message").addEventListener("click", newMessage);
  $("edit-again").addEventListener("click", editAgain);
}

function startConsole() {
  show("signin-section", false);
  showSession();
  show("order-section");
  $("order-id").focus();
}

async function main() {
  fillMarketplaces();
  wire();
  try {
    const response = await fetch(new URL("console/config.json", document.baseURI), { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`config.json answered ${response.status}`);
    state.config = await response.json();
  } catch (error) {
    announce(`The console could not load its configuration (${error.message}). Reload the page to try again.`);
    return;
  }
  if (state.config.auth) {
    restoreSession();
    if (!state.auth.token) {
      show("signin-section");
      $("signin-username").focus();
      return;
    }
  }
  startConsole();
}

main();
