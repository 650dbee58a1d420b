// The page's shared parts: DOM helpers (every node the page builds is made by el), formatting, and the page's
// state, which the other modules read and change.
//
// Content Security Policy: no inline scripts or handlers, no eval, no inline style attributes. Everything
// shown that comes from the API or Amazon (titles, descriptions, causes) is set as text, never as HTML.

export const $ = (id) => document.getElementById(id);

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
export function el(tag, attributes = {}, ...children) {
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
export function fill(target, ...children) {
  target.replaceChildren(...nodesOf(children));
}

/** Adds to what an element shows, by the same rules as el. */
export function add(target, ...children) {
  target.append(...nodesOf(children));
}

/** A text the API or Amazon gave, as a string: anything else (null, a number, an object) is no text at all. */
export const textOf = (value) => (typeof value === "string" ? value : "");
export const isCount = (value) => Number.isInteger(value) && value >= 0;
export const objectOr = (value, otherwise) => (value !== null && typeof value === "object" ? value : otherwise);

/** A value looked up in one of the page's tables, never one inherited from Object ("constructor", …). */
export const lookUp = (table, key) => (typeof key === "string" && Object.hasOwn(table, key) ? table[key] : "");

const numberFormat = new Intl.NumberFormat(navigator.language || "en-US");
export const formatNumber = (n) => numberFormat.format(n);
/** A count with its noun: "1 file", "2 files", "2,000 characters". */
export const plural = (n, noun) => `${formatNumber(n)} ${noun}${n === 1 ? "" : "s"}`;

/** Sizes in decimal units, like Amazon's "less than 10 MB" (10,000,000 bytes). */
export function formatBytes(bytes) {
  if (bytes < 1000) return `${formatNumber(bytes)} bytes`;
  if (bytes < 1_000_000) return `${formatNumber(Math.round(bytes / 100) / 10)} KB`;
  return `${formatNumber(Math.round(bytes / 100_000) / 10)} MB`;
}

/** Characters as the API counts them (Python's len: code points, so an emoji is one, not two). */
export const characterCount = (text) => [...text].length;

export function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}



export function setError(id, message) {
  const target = $(id);
  const text = textOf(message);
  if (target && target.textContent !== text) target.textContent = text;
}

export function markInvalid(input, invalid) {
  if (!input) return;
  if (invalid) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

export function show(section, visible = true) {
  $(section).hidden = !visible;
}

/** Move focus to a section's heading so keyboard and screen-reader users land where the page went next. */
export function focusHeading(id) {
  const heading = $(id);
  heading.focus({ preventScroll: true });
  heading.scrollIntoView({ block: "start", behavior: "smooth" });
}

export function announce(message) {
  setError("page-status", message);
}

export const state = {
  config: null, // GET /console/config.json: sign-in, and the facts the page shows and checks (api.js)
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
  sellers: [], // GET /sellers: {id, needsAuthorization, ends, daysLeft} (sellers.js)
  seller: null, // the seller the page acts for: the picker's choice, else the user's only one
};
