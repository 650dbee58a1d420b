// Steps 1 and 2: the order (its id and marketplace) and the message types Amazon allows for it now, each with
// its rules; choosing one opens the message form (compose.js).

import { api, ApiError, describeApiError, sellerQuery } from "./api.js";
import { renderMessageForm, resetMessage, setSending, showFieldErrors } from "./compose.js";
import {
  $,
  add,
  announce,
  el,
  fill,
  focusHeading,
  formatNumber,
  isCount,
  markInvalid,
  objectOr,
  plural,
  setError,
  show,
  state,
  textOf,
} from "./page.js";

export function fillMarketplaces() {
  const select = $("marketplace");
  // Every marketplace, grouped by SP-API region (config.json); the first one is the default choice.
  for (const region of state.config.regions) {
    const group = el("optgroup", { label: region.name });
    for (const { marketplaceId, countryCode, name } of region.marketplaces) {
      add(group, el("option", { value: marketplaceId }, `${name} (${countryCode}) · ${marketplaceId}`));
    }
    add(select, group);
  }
  select.value = state.config.regions[0].marketplaces[0].marketplaceId;
}

function readOrder() {
  const input = $("order-id");
  const amazonOrderId = input.value.trim().toUpperCase();
  // The pattern the workflow checks (buyer_messaging.models.AMAZON_ORDER_ID_PATTERN, from config.json).
  const ok = new RegExp(state.config.orderIdPattern).test(amazonOrderId);
  setError("order-id-error", ok ? "" : "Enter the order id like 123-1234567-1234567 (3, 7 and 7 digits).");
  markInvalid(input, !ok);
  return ok ? { amazonOrderId, marketplaceId: $("marketplace").value } : null;
}

export async function findMessageTypes(event) {
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
    const query = new URLSearchParams({ marketplaceId: order.marketplaceId, ...sellerQuery() });
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
export function orderEdited() {
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

export function typeClicked(event) {
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

export function showAllTypes() {
  $("type-list").classList.remove("collapsed");
  show("type-hint");
  show("message-section", false);
  show("progress-section", false);
  focusHeading("type-title");
}


/** After a message is over: the order's types again, for another message to the same buyer. */
export function newMessage() {
  state.pollingFor = null;
  resetMessage();
  setSending(false);
  for (const button of $("type-list").querySelectorAll(".type-button")) button.setAttribute("aria-pressed", "false");
  showAllTypes();
}
