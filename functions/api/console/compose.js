// Step 3: the message form built from the chosen type's rules, checked as it is typed, then the files staged and
// uploaded straight to S3 (files.js) and the message sent; sendMessage's caller follows the accepted request
// (progress.js).

import { api, ApiError, describeApiError, errorText, sellerField } from "./api.js";
import { fileNameProblem, renderFiles, stageFile, uploadToS3 } from "./files.js";
import {
  $,
  announce,
  characterCount,
  fill,
  focusHeading,
  formatBytes,
  formatNumber,
  markInvalid,
  plural,
  setError,
  show,
  state,
} from "./page.js";

export function resetMessage() {
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

export function renderMessageForm() {
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
export function check() {
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

export function messageEdited() {
  state.idempotencyKey = null; // different content: a new send attempt
  setError("send-error", "");
  check();
}

/** Enter in a one-line field must not send the message by accident (implicit form submission). */
export function preventImplicitSubmit(event) {
  if (event.key === "Enter" && event.target instanceof HTMLInputElement && event.target.type !== "file") {
    event.preventDefault();
  }
}

// ------------------------------------------------------------------------------------------------ send

/** Each API field error next to its field (docs/api.md: `errors[].field`). Returns the first field shown. */
export function showFieldErrors(errors) {
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

export function setSending(sending) {
  state.sending = sending;
  $("message-fieldset").disabled = sending;
  $("change-type").disabled = sending;
  $("find-types").disabled = sending;
  if (sending) $("send").disabled = true;
  else check();
}

/** The form's submit: `accepted` gets the API's 202 answer once the message is sent. */
export async function sendMessage(event, accepted) {
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
    const body = { marketplaceId, messageType: type.messageType, ...sellerField() };
    const text = $("message-text").value;
    if (type.text && text.trim()) body.text = text;
    if (type.attachments && state.files.length) {
      body.attachments = state.files.map((entry) => ({ key: entry.staged, fileName: entry.name }));
    }
    if (type.coverageDates) {
      for (const [name, value] of Object.entries(coverageDates())) if (value) body[name] = value;
    }
    const answer = await api("POST", `orders/${encodeURIComponent(amazonOrderId)}/messages`, {
      body,
      headers: { "Idempotency-Key": state.idempotencyKey },
    });
    announce("");
    accepted(answer);
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
      if (error.status === 400 && errorText(error.body.error)) {
        shown = errorText(error.body.error);
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

/** The request is over for this page: the message stays on screen as it went, read-only. */
export function lockMessage() {
  setSending(false);
  $("message-fieldset").disabled = true;
  $("send").disabled = true;
  $("change-type").hidden = true;
}

/** After a failure: the same message back in the form, to fix and send as a new request. */
export function editAgain() {
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

function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
