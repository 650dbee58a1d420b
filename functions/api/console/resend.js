// The re-send page (#resend), after an outage: the failed requests a selection names (when they failed, with which
// errors, of which order) previewed with POST /resends and dryRun (each one's decision), then re-sent on the
// seller's word (POST /resends), each started one linked to its progress (#message/{requestId}). The server
// re-sends each failed request once (docs/resend.md): a second click, or a preview after a reload, shows it as
// already re-sent.
//
// The facts it offers and states come from GET /console/config.json (config.resend: the errors a re-send can mend,
// why a request is not re-sent in words, the most one re-send starts; config.errors: each error in words;
// config.orderIdPattern), never written here.

import { api, ApiError, describeApiError, errorText } from "./api.js";
import { $, el, fill, focusHeading, formatNumber, isCount, lookUp, markInvalid, objectOr, plural, setError, show, state, textOf } from "./page.js";

const resendFacts = () => objectOr(state.config.resend, {});
// The selection previewed, and how many it re-sends: the re-send sends that count as its limit, so a request that
// failed since the preview is refused by name (ResendLimitExceeded) rather than re-sent unseen.
const resend = { selection: null, count: 0 };
// The fields of a refusal (docs/api.md "Errors") the form has inputs for.
const INPUTS = { since: "resend-since", until: "resend-until", amazonOrderId: "resend-order" };

/** The error choices (config.resend.errors, each in words from config.errors) and the time zone the form reads. */
export function fillResendForm() {
  const facts = resendFacts();
  const names = Array.isArray(facts.errors) ? facts.errors.filter((name) => typeof name === "string") : [];
  fill(
    $("resend-error-list"),
    names.map((name, index) => {
      const id = `resend-error-${index}`;
      return el(
        "li",
        {},
        el("input", { type: "checkbox", id, name: "errors", value: name, "aria-describedby": `${id}-text` }),
        el("label", { for: id }, name),
        el("span", { className: "hint", id: `${id}-text` }, errorText(name)),
      );
    }),
  );
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  const minutes = -new Date().getTimezoneOffset();
  const offset = `${minutes < 0 ? "-" : "+"}${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, "0")}:${String(
    Math.abs(minutes) % 60,
  ).padStart(2, "0")}`;
  fill($("resend-zone"), `Times are in your local time (${zone ? `${zone}, ` : ""}UTC${offset}).`);
}

/** A datetime-local value (the browser's local time) as the API wants it: UTC, ISO 8601. */
function utc(value) {
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? value : moment.toISOString();
}

function clearProblems() {
  setError("resend-error", "");
  setError("resend-order-error", "");
  for (const id of Object.values(INPUTS)) markInvalid($(id), false);
}

/** The selection the form states, or null when the order id is not one. */
function readSelection() {
  const selection = {};
  const since = $("resend-since").value;
  const until = $("resend-until").value;
  if (since) selection.since = utc(since);
  if (until) selection.until = utc(until);
  const order = $("resend-order").value.trim().toUpperCase();
  if (order) {
    // The pattern the API checks (buyer_messaging.fields.AMAZON_ORDER_ID_PATTERN, from config.json).
    if (!new RegExp(state.config.orderIdPattern).test(order)) {
      setError("resend-order-error", "Enter the order id like 123-1234567-1234567 (3, 7 and 7 digits).");
      markInvalid($("resend-order"), true);
      $("resend-order").focus();
      return null;
    }
    $("resend-order").value = order;
    selection.amazonOrderId = order;
  }
  const errors = [...$("resend-error-list").querySelectorAll("input:checked")].map((input) => input.value);
  if (errors.length) selection.errors = errors;
  return selection;
}

/** A refusal in words: the API's message says what to change; a busy service says when to try again. */
function describeResendError(error) {
  if (!(error instanceof ApiError)) return describeApiError(error);
  if (error.status === 400 && error.body.error === "ResendLimitExceeded") {
    return `${error.body.message} More requests failed since the preview: preview again to see them.`;
  }
  if (error.status === 400) return error.body.message || describeApiError(error);
  if (error.status === 503) {
    const seconds = Number.parseInt(error.retryAfter || "", 10);
    const when = Number.isFinite(seconds) && seconds > 0 ? ` in ${plural(seconds, "second")}` : " in a moment";
    return [errorText(error.body.error), error.body.message, `Try again${when}.`].filter(Boolean).join(" ");
  }
  return describeApiError(error);
}

function showProblem(error) {
  setError("resend-error", describeResendError(error));
  const fields = error instanceof ApiError ? error.fieldErrors : [];
  for (const { field } of fields) markInvalid($(lookUp(INPUTS, field)), true);
}

/** POST /resends's answer (docs/resend.md "The route"), read once: counts as counts, texts as strings. */
function planOf(raw) {
  const answer = objectOr(raw, {});
  const count = (name) => (isCount(answer[name]) ? answer[name] : 0);
  const requests = Array.isArray(answer.requests) ? answer.requests.map((item) => objectOr(item, {})) : [];
  return {
    dryRun: answer.dryRun !== false,
    selected: count("selected"),
    resend: count("resend"),
    started: count("started"),
    failedToStart: count("failedToStart"),
    requests: requests.map((item) => ({
      amazonOrderId: textOf(item.amazonOrderId),
      messageType: textOf(item.messageType),
      failedAt: textOf(item.failedAt),
      error: textOf(item.error),
      decision: textOf(item.decision),
      reason: textOf(item.reason),
      detail: textOf(item.detail),
      newRequestId: textOf(item.newRequestId),
    })),
  };
}

function timeCell(iso) {
  const at = iso ? new Date(iso) : null;
  if (!at || Number.isNaN(at.getTime())) return el("td", {}, iso);
  const shown = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium", hourCycle: "h23" });
  return el("td", {}, el("time", { datetime: iso }, shown));
}

function decisionCell(item, dryRun) {
  if (item.decision === "resend" && !item.reason) {
    if (dryRun || !item.newRequestId) return el("td", { className: "ready" }, "Will be re-sent");
    const link = el("a", { href: `#message/${encodeURIComponent(item.newRequestId)}` }, item.newRequestId);
    return el("td", { className: "ready" }, "Re-sent as ", link);
  }
  const words = lookUp(objectOr(resendFacts().reasons, {}), item.reason) || item.reason;
  return el("td", { className: "invalid" }, el("strong", {}, words), item.detail ? `. ${item.detail}` : "");
}

function summaryOf(plan) {
  const skipped = Math.max(plan.selected - plan.resend, 0);
  if (plan.selected === 0) return "No failed request matches.";
  if (plan.dryRun) return `${formatNumber(plan.resend)} to re-send, ${formatNumber(skipped)} skipped.`;
  const notStarted = plan.failedToStart ? `, ${formatNumber(plan.failedToStart)} not started` : "";
  return `${formatNumber(plan.started)} re-sent${notStarted}, ${formatNumber(skipped)} skipped.`;
}

function showPlan(plan) {
  fill($("resend-plan-title"), plan.dryRun ? "Check before re-sending" : "Re-sent");
  fill($("resend-summary"), summaryOf(plan));
  fill(
    $("resend-rows"),
    plan.requests.map((item) =>
      el(
        "tr",
        {},
        el("td", {}, item.amazonOrderId),
        el("td", {}, item.messageType),
        timeCell(item.failedAt),
        el("td", {}, item.error ? el("code", {}, item.error) : ""),
        decisionCell(item, plan.dryRun),
      ),
    ),
  );
  const maxLimit = isCount(resendFacts().maxLimit) ? resendFacts().maxLimit : plan.resend;
  const over = plan.dryRun && plan.resend > maxLimit;
  fill(
    $("resend-over-limit"),
    over ? `One re-send starts at most ${plural(maxLimit, "message")}: narrow the time range, the errors or the order.` : "",
  );
  resend.count = plan.dryRun && !over ? plan.resend : 0;
  const button = $("resend-start");
  button.textContent = `Re-send ${plural(plan.resend, "message")}`;
  button.disabled = resend.count === 0;
  show("resend-start", plan.dryRun);
  show("resend-plan");
  focusHeading("resend-plan-title");
}

export async function previewResend(event) {
  event.preventDefault();
  clearProblems();
  const selection = readSelection();
  if (!selection) return;
  const button = $("resend-preview");
  button.disabled = true;
  try {
    const plan = planOf(await api("POST", "resends", { body: { ...selection, dryRun: true } }));
    resend.selection = selection;
    showPlan(plan);
  } catch (error) {
    show("resend-plan", false);
    showProblem(error);
  } finally {
    button.disabled = false;
  }
}

export async function startResend() {
  if (!resend.selection || resend.count === 0) return;
  const button = $("resend-start");
  button.disabled = true; // one click, one re-send: the answer replaces the button
  clearProblems();
  try {
    const body = { ...resend.selection, limit: resend.count, dryRun: false };
    const done = planOf(await api("POST", "resends", { body }));
    resend.selection = null;
    showPlan(done);
  } catch (error) {
    button.disabled = false;
    showProblem(error);
  }
}

/** A change to the selection hides the plan of the one before: its button would re-send what the form no longer says. */
export function selectionEdited() {
  resend.selection = null;
  resend.count = 0;
  show("resend-plan", false);
}
