// Step 4: the request's timeline, read from GET /messages/{requestId} until it is over, and its outcome. What the
// message form does then is the caller's (app.js): this module knows nothing of the other steps.

import { api, ApiError, describeApiError, errorText } from "./api.js";
import { $, add, el, fill, focusHeading, formatBytes, isCount, lookUp, objectOr, show, state, textOf } from "./page.js";

const POLL_INTERVAL_MS = 1000;
const POLL_GIVE_UP_MS = 15 * 60 * 1000; // the workflow's retries end well before this
const NOT_RECORDED_YET_MS = 30 * 1000; // a status record may trail the 202 by a moment

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the page does when the request followed is over for it (startProgress's caller says). */
let whenOver = () => {};

/** Follows the request of an accepted send (POST .../messages: 202); `over` runs once it is over for the page. */
export function startProgress(answer, over) {
  whenOver = over;
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
        el("span", { className: "label" }, lookUp(state.config.timeline, step.status) || step.status),
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
    // Never "Not sent.": the buyer may have the message, and "Edit and send again" would invite a duplicate.
    outcome.className = "outcome failed";
    fill(
      outcome,
      el("p", { className: "headline" }, "Maybe sent."),
      el("p", {}, errorText("SendOutcomeUnknown")),
      record.cause ? el("p", {}, `Details: ${record.cause}`) : null,
      el("p", {}, "Error: ", el("code", {}, record.error || "SendOutcomeUnknown")),
    );
  } else {
    outcome.className = "outcome failed";
    const friendly = errorText(record.error);
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

/**
 * The request is over for this page: what the caller does then (startProgress's `over`), and the buttons for
 * another message or, after a failure, for editing this one again.
 */
function stopFollowing({ failed = false } = {}) {
  state.pollingFor = null;
  state.finished = true;
  show("new-message");
  show("edit-again", failed);
  whenOver(); // last: what the caller does may hide a button (a request viewed alone has no form to edit again)
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
