// Step 3: the message form built from the chosen type's rules, checked as it is typed, then the files staged and
// uploaded straight to S3 and the message sent; sendMessage's caller follows the accepted request (progress.js).

import { api, ApiError, describeApiError, errorText } from "./api.js";
import {
  $,
  add,
  announce,
  characterCount,
  el,
  extensionOf,
  fill,
  focusHeading,
  formatBytes,
  formatNumber,
  lookUp,
  markInvalid,
  plural,
  setError,
  show,
  state,
} from "./page.js";

/**
 * The content type the workflow derives from a file's name (its extension, as config.json lists them), or "":
 * the API lists a type's allowed extensions; the content type sent for a file is this one.
 */
const contentTypeOf = (name) => lookUp(state.config.contentTypes, extensionOf(name));

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

/** Files picked are added to the message (the picker can be used again); each is checked on the way in. */
export function filesPicked() {
  const input = $("file-input");
  const rules = state.type && state.type.attachments;
  if (!rules) return;
  const allowed = (rules.extensions || []).map((ext) => ext.toLowerCase());
  const rejections = [];
  for (const file of input.files) {
    const ext = extensionOf(file.name);
    const total = state.files.reduce((sum, entry) => sum + entry.file.size, 0);
    if (!allowed.includes(ext) || !contentTypeOf(file.name)) {
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

export function fileListClicked(event) {
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

export function fileRenamed(event) {
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
  const maxLength = state.config.fileNameMaxLength;
  if (characterCount(name) > maxLength) return `Use at most ${maxLength} characters.`;
  if (/[\\/]/.test(name)) return "Use a plain file name, without / or \\.";
  // Control characters and invisible format characters (direction overrides can disguise "exe.pdf");
  // zero-width (non-)joiners are kept: Persian and Indic words need them.
  if (/[\p{Cc}]/u.test(name) || /[\p{Cf}]/u.test(name.replace(/[\u200c\u200d]/g, ""))) {
    return "Remove the invisible or control characters.";
  }
  if (name.startsWith(".") || name !== name.trim()) return "Do not start with a dot, or start or end with spaces.";
  const original = extensionOf(originalName);
  if (!contentTypeOf(name) || contentTypeOf(name) !== contentTypeOf(originalName)) {
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
      body: { fileName: entry.name, contentType: contentTypeOf(entry.name), size: entry.file.size },
    });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 400) throw error;
    const details = error.fieldErrors.map(({ field, message }) => `${field} ${message}`).join("; ");
    throw new UploadError(`${entry.name} was not accepted: ${details || error.body.message || "no reason given"}.`);
  }
}

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
    const body = { marketplaceId, messageType: type.messageType };
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
