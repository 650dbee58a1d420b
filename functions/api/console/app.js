// Seller console: order -> message type -> form from the type's rules -> upload to S3 -> send -> live timeline.
//
// Plain ES module, no build step, no dependencies: the API function serves this file as it is. It talks only
// to the HTTP API of docs/api.md (same origin), to S3 through the presigned POSTs the API hands out, and,
// when the deployment has a Cognito user pool, to that pool's endpoint (sign-in with SRP and its challenges).
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
//
// The page signs in to the deployment's Cognito user pool itself, with SRP (USER_SRP_AUTH): the password never
// leaves this page, only a proof that the page knows it. Then the challenges the pool may ask for: a code from an
// authenticator app (SOFTWARE_TOKEN_MFA), a first password to replace the temporary one (NEW_PASSWORD_REQUIRED),
// and setting up the authenticator app when MFA is required and the user has none yet (MFA_SETUP).

const TOKEN_KEY = "buyer-messaging.console.session";
const COGNITO_TARGET = "AWSCognitoIdentityProviderService.";
const APP_NAME = "Buyer Messaging";

// password-policy:start — a unit test keeps these in step with ConsoleUserPool's PasswordPolicy in template.yaml
const PASSWORD_POLICY = { minimumLength: 12, lowercase: true, uppercase: true, numbers: true, symbols: false };
// password-policy:end

// SRP as Cognito does it (amazon-cognito-identity-js's AuthenticationHelper): RFC 5054's 3072-bit group, g = 2,
// SHA-256, hex paddings of Java's BigInteger. BigInt for the arithmetic, WebCrypto for the hashes and the HKDF.
const SRP_N = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);
const SRP_G = 2n;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Hex of a positive number as Cognito hashes it: even length, 00 in front when the top bit is set. */
function padHex(value) {
  const hex = typeof value === "string" ? value : value.toString(16);
  if (hex.length % 2 === 1) return `0${hex}`;
  return "89abcdefABCDEF".includes(hex[0]) ? `00${hex}` : hex;
}

function hexToBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const bytesToHex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = (text) => new TextEncoder().encode(text);
const concatBytes = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
const base64ToBytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const bytesToBase64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

async function sha256Hex(bytes) {
  return bytesToHex(await crypto.subtle.digest("SHA-256", bytes));
}

function modPow(base, exponent, modulus) {
  let result = 1n;
  let b = ((base % modulus) + modulus) % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Cognito's TIMESTAMP: "Mon Jan 2 15:04:05 UTC 2006", in UTC, the day of the month not zero-padded. */
function cognitoTimestamp(date = new Date()) {
  const two = (n) => String(n).padStart(2, "0");
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  return (
    `${WEEKDAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()} ${time} UTC ` +
    `${date.getUTCFullYear()}`
  );
}

/** A new SRP client secret a and its public A = g^a mod N (A mod N must not be 0). */
function srpStart() {
  for (;;) {
    const a = BigInt(`0x${bytesToHex(crypto.getRandomValues(new Uint8Array(128)))}`) % SRP_N;
    const A = modPow(SRP_G, a, SRP_N);
    if (A !== 0n) return { a, A };
  }
}

/** PASSWORD_VERIFIER's answer: the HMAC, keyed with the SRP session key, of poolName|userId|SECRET_BLOCK|time. */
async function passwordClaim({ a, A }, poolName, password, parameters) {
  const userId = textOf(parameters.USER_ID_FOR_SRP);
  const B = BigInt(`0x${textOf(parameters.SRP_B) || "0"}`);
  if (B % SRP_N === 0n) throw new Error("The sign-in service answered with an invalid challenge. Try again.");
  const k = BigInt(`0x${await sha256Hex(hexToBytes(padHex(SRP_N) + padHex(SRP_G)))}`);
  const u = BigInt(`0x${await sha256Hex(hexToBytes(padHex(A) + padHex(B)))}`);
  if (u === 0n) throw new Error("The sign-in service answered with an invalid challenge. Try again.");
  const identity = await sha256Hex(utf8(`${poolName}${userId}:${password}`));
  const x = BigInt(`0x${await sha256Hex(hexToBytes(padHex(textOf(parameters.SALT)) + identity))}`);
  const S = modPow(B - k * modPow(SRP_G, x, SRP_N), a + u * x, SRP_N);
  const ikm = await crypto.subtle.importKey("raw", hexToBytes(padHex(S)), "HKDF", false, ["deriveBits"]);
  const info = utf8("Caldera Derived Key");
  const key = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: hexToBytes(padHex(u)), info }, ikm, 128);
  const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const timestamp = cognitoTimestamp();
  const secretBlock = textOf(parameters.SECRET_BLOCK);
  const message = concatBytes(utf8(poolName), utf8(userId), base64ToBytes(secretBlock), utf8(timestamp));
  return {
    USERNAME: textOf(parameters.USERNAME) || userId,
    PASSWORD_CLAIM_SECRET_BLOCK: secretBlock,
    TIMESTAMP: timestamp,
    PASSWORD_CLAIM_SIGNATURE: bytesToBase64(await crypto.subtle.sign("HMAC", hmacKey, message)),
  };
}

/** Cognito refused a call: its error name and message, kept to choose the sentence and the next step. */
class CognitoError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
    this.cognitoMessage = message;
  }

  get sessionOver() {
    return this.type === "NotAuthorizedException" && /^Invalid session/i.test(this.cognitoMessage);
  }
}

/** One call to the user pool's endpoint (the only one the page's Content-Security-Policy lets it reach). */
async function cognito(operation, body) {
  const { region } = state.config.auth;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(String(region))) throw new Error("The console's sign-in region is not valid.");
  let response;
  try {
    response = await fetch(`https://cognito-idp.${region}.amazonaws.com/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": COGNITO_TARGET + operation },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error("The sign-in service could not be reached. Check the connection and try again.");
  }
  const data = objectOr(await response.json().catch(() => null), {});
  if (!response.ok) {
    // "__type" may carry a namespace ("…#NotAuthorizedException"); the message's key is spelt both ways.
    const type = textOf(data.__type).split("#").pop() || textOf(response.headers.get("x-amzn-errortype")).split(":")[0];
    throw new CognitoError(type, textOf(data.message) || textOf(data.Message));
  }
  return data;
}

/** Cognito's refusal in a sentence for the person signing in. */
function describeSignInError(error) {
  if (!(error instanceof CognitoError)) return textOf(error && error.message) || "Sign-in failed. Try again.";
  const message = error.cognitoMessage;
  const withPeriod = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);
  switch (error.type) {
    case "NotAuthorizedException":
      if (error.sessionOver) {
        return "This sign-in took too long or was interrupted. Start again with your email and password.";
      }
      if (/attempts exceeded/i.test(message)) return "Too many wrong passwords. Wait a few minutes and try again.";
      return "Wrong email or password.";
    case "UserNotFoundException":
      return "Wrong email or password.";
    case "CodeMismatchException":
      return "That code is not right. Enter the 6-digit code your authenticator app shows now.";
    case "ExpiredCodeException":
      return "That code has expired or was used already. Wait for the app's next code and enter it.";
    case "EnableSoftwareTokenMFAException":
      return (
        "That code does not match the key. Check that the app has the key shown here, then enter the code it " +
        "shows now."
      );
    case "InvalidPasswordException":
      return message ? `The new password was refused: ${withPeriod(message)}` : "The new password was refused.";
    case "TooManyRequestsException":
      return "Too many sign-in attempts at once. Wait a minute and try again.";
    case "LimitExceededException":
      return "Too many attempts for this account. Wait a few minutes and try again.";
    case "PasswordResetRequiredException":
      return "Your password must be reset by an administrator before you can sign in.";
    case "UserNotConfirmedException":
      return "Your account is not set up yet. Ask an administrator.";
    default:
      return `Sign-in failed (${error.type || "unknown error"}${message ? `: ${message}` : ""}). Ask an administrator.`;
  }
}

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

/** The pool's password rules in words (the hint under "New password"). */
function passwordRules() {
  const kinds = [
    PASSWORD_POLICY.uppercase ? "an upper-case letter" : "",
    PASSWORD_POLICY.lowercase ? "a lower-case letter" : "",
    PASSWORD_POLICY.numbers ? "a digit" : "",
    PASSWORD_POLICY.symbols ? "a symbol" : "",
  ].filter(Boolean);
  const list = kinds.length > 1 ? `${kinds.slice(0, -1).join(", ")} and ${kinds[kinds.length - 1]}` : kinds.join("");
  return `At least ${PASSWORD_POLICY.minimumLength} characters${list ? `, with ${list}` : ""}.`;
}

const SIGN_IN_STEPS = {
  password: { form: "signin-form", title: "Sign in", focus: "signin-username" },
  mfa: { form: "mfa-form", title: "Enter your code", focus: "mfa-code" },
  newPassword: { form: "new-password-form", title: "Choose your password", focus: "new-password" },
  totpSetup: { form: "totp-setup-form", title: "Set up your authenticator app", focus: "totp-code" },
};

/** Where the sign-in is: which challenge, for whom, with which single-use session. Never the password. */
const signInFlow = { username: "", userId: "", session: "" };

function showSignInStep(step, message = "") {
  for (const [name, { form }] of Object.entries(SIGN_IN_STEPS)) show(form, name === step);
  $("signin-title").textContent = SIGN_IN_STEPS[step].title;
  setError("signin-error", message);
  $(SIGN_IN_STEPS[step].focus).focus();
}

/** Back to email and password (the user asked, or the session is over): nothing of the old attempt is kept. */
function startSignInAgain(message = "") {
  Object.assign(signInFlow, { userId: "", session: "" });
  for (const id of ["signin-password", "mfa-code", "new-password", "new-password-again", "totp-code"]) $(id).value = "";
  fill($("required-attributes"));
  fill($("totp-secret"));
  showSignInStep("password", message);
}

/** Email and password → SRP → the pool's next challenge or the tokens. */
async function signIn(username, password) {
  const { userPoolId, clientId } = state.config.auth;
  const poolName = textOf(userPoolId).split("_")[1];
  if (!poolName) throw new Error("The console's user pool is not configured. Ask an administrator.");
  const srp = srpStart();
  const started = await cognito("InitiateAuth", {
    AuthFlow: "USER_SRP_AUTH",
    ClientId: clientId,
    AuthParameters: { USERNAME: username, SRP_A: srp.A.toString(16) },
  });
  if (started.ChallengeName !== "PASSWORD_VERIFIER") return started;
  const parameters = objectOr(started.ChallengeParameters, {});
  const answer = await cognito("RespondToAuthChallenge", {
    ChallengeName: "PASSWORD_VERIFIER",
    ClientId: clientId,
    ChallengeResponses: await passwordClaim(srp, poolName, password, parameters),
  });
  signInFlow.username = username;
  signInFlow.userId = textOf(parameters.USERNAME) || textOf(parameters.USER_ID_FOR_SRP) || username;
  return answer;
}

function respond(challengeName, responses) {
  return cognito("RespondToAuthChallenge", {
    ChallengeName: challengeName,
    ClientId: state.config.auth.clientId,
    Session: signInFlow.session,
    ChallengeResponses: { USERNAME: signInFlow.userId, ...responses },
  });
}

/** A JSON list in a challenge parameter ("requiredAttributes", "MFAS_CAN_SETUP"), as strings. */
function listParameter(value) {
  try {
    const list = JSON.parse(textOf(value) || "[]");
    return Array.isArray(list) ? list.filter((item) => typeof item === "string") : [];
  } catch {
    return [];
  }
}

/** "userAttributes.given_name" → "Given name". */
const attributeLabel = (name) => {
  const words = name.replace(/^userAttributes\./, "").replace(/^custom:/, "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** The key an authenticator app takes, in groups of four for reading and typing. */
const groupedKey = (secret) => secret.replace(/(.{4})/g, "$1 ").trim();

function otpauthUrl(secret) {
  const label = `${encodeURIComponent(APP_NAME)}:${encodeURIComponent(signInFlow.username)}`;
  return `otpauth://totp/${label}?secret=${encodeURIComponent(secret)}&issuer=${encodeURIComponent(APP_NAME)}`;
}

/** What the pool answered: tokens (signed in) or the next challenge's form. */
async function proceed(answer) {
  const result = objectOr(answer.AuthenticationResult, null);
  if (result) {
    finishSignIn(result);
    return;
  }
  signInFlow.session = textOf(answer.Session);
  const parameters = objectOr(answer.ChallengeParameters, {});
  const challenge = textOf(answer.ChallengeName);
  if (challenge === "SOFTWARE_TOKEN_MFA") {
    showSignInStep("mfa");
  } else if (challenge === "NEW_PASSWORD_REQUIRED") {
    const required = listParameter(parameters.requiredAttributes);
    fill(
      $("required-attributes"),
      required.map((name, index) =>
        el(
          "div",
          { className: "field" },
          el("label", { for: `required-attribute-${index}` }, attributeLabel(name)),
          el("input", { id: `required-attribute-${index}`, type: "text", required: true, "data-attribute": name }),
        ),
      ),
    );
    $("new-password-rules").textContent = passwordRules();
    showSignInStep("newPassword");
  } else if (challenge === "MFA_SETUP") {
    if (!listParameter(parameters.MFAS_CAN_SETUP).includes("SOFTWARE_TOKEN_MFA")) {
      throw new Error("Your account needs a kind of second factor this console does not offer. Ask an administrator.");
    }
    const associated = await cognito("AssociateSoftwareToken", { Session: signInFlow.session });
    const secret = textOf(associated.SecretCode);
    if (!secret) throw new Error("The sign-in service gave no key for the authenticator app. Start again.");
    signInFlow.session = textOf(associated.Session);
    fill($("totp-secret"), groupedKey(secret));
    $("totp-link").setAttribute("href", otpauthUrl(secret));
    showSignInStep("totpSetup");
  } else {
    throw new Error(`Sign-in needs a step this console does not support (${challenge || "none named"}). Ask an administrator.`);
  }
}

function finishSignIn(result) {
  if (!textOf(result.IdToken)) throw new Error("The sign-in service gave no token.");
  const seconds = Number(result.ExpiresIn);
  state.auth = {
    token: result.IdToken,
    expiresAt: Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 3600) * 1000,
    user: userOf(result.IdToken) || signInFlow.username,
  };
  // Only the short-lived ID token, and only for this tab: a reload does not sign out, closing the tab does.
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(state.auth));
  startSignInAgain();
  startConsole();
}

/** One form's submit: the button is off while Cognito answers; a refusal is said, an over session starts again. */
function onSignInSubmit(formId, action, { clear = [] } = {}) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter || $(formId).querySelector("button[type=submit]");
    button.disabled = true;
    setError("signin-error", "");
    try {
      await proceed(await action());
    } catch (error) {
      const message = describeSignInError(error);
      if (error instanceof CognitoError && error.sessionOver) {
        startSignInAgain(message);
      } else {
        for (const id of clear) $(id).value = "";
        setError("signin-error", message);
        const invalid = $(formId).querySelector("input:not([type=hidden])");
        const target = clear.length ? $(clear[0]) : invalid;
        if (target && !$(formId).hidden) target.focus();
      }
    } finally {
      button.disabled = false;
    }
  });
}

function wireSignIn() {
  onSignInSubmit(
    "signin-form",
    async () => {
      const password = $("signin-password").value;
      $("signin-password").value = ""; // the password is not kept, not even in the field
      return signIn($("signin-username").value.trim(), password);
    },
    { clear: ["signin-password"] },
  );
  onSignInSubmit(
    "mfa-form",
    async () => {
      const code = $("mfa-code").value.replace(/\s/g, "");
      if (!/^[0-9]{6}$/.test(code)) throw new Error("Enter the 6 digits your authenticator app shows.");
      return respond("SOFTWARE_TOKEN_MFA", { SOFTWARE_TOKEN_MFA_CODE: code });
    },
    { clear: ["mfa-code"] },
  );
  onSignInSubmit("new-password-form", async () => {
    const password = $("new-password").value;
    if (!password) throw new Error("Choose a new password.");
    if (password !== $("new-password-again").value) throw new Error("The two passwords are not the same.");
    const attributes = {};
    for (const input of $("required-attributes").querySelectorAll("input")) {
      if (!input.value.trim()) throw new Error(`${attributeLabel(input.dataset.attribute)} is required.`);
      attributes[input.dataset.attribute] = input.value.trim();
    }
    return respond("NEW_PASSWORD_REQUIRED", { NEW_PASSWORD: password, ...attributes });
  });
  onSignInSubmit(
    "totp-setup-form",
    async () => {
      const code = $("totp-code").value.replace(/\s/g, "");
      if (!/^[0-9]{6}$/.test(code)) throw new Error("Enter the 6 digits your authenticator app shows.");
      const verified = await cognito("VerifySoftwareToken", {
        Session: signInFlow.session,
        UserCode: code,
        FriendlyDeviceName: APP_NAME,
      });
      if (verified.Status !== "SUCCESS") throw new Error("The authenticator app could not be set up. Start again.");
      signInFlow.session = textOf(verified.Session);
      return respond("MFA_SETUP", {});
    },
    { clear: ["totp-code"] },
  );
  for (const button of $("signin-section").querySelectorAll(".start-again")) {
    button.addEventListener("click", () => startSignInAgain());
  }
}

function signOut(message = "") {
  state.auth = { token: null, expiresAt: 0, user: "" };
  sessionStorage.removeItem(TOKEN_KEY);
  state.pollingFor = null;
  for (const id of ["order-section", "type-section", "message-section", "progress-section", "session"]) show(id, false);
  show("signin-section");
  startSignInAgain(message);
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
  wireSignIn();
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
