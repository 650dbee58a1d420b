// The message's files: the picker (each file checked on the way in, renamed as the buyer will see it, removed) and
// each file's way to S3 (a presigned POST from the API, then the upload with its progress). The form they belong
// to is compose.js's: what changes the files calls back `changed`, which checks the form again.

import { api, ApiError, sellerField } from "./api.js";
import { $, add, characterCount, el, extensionOf, fill, formatBytes, formatNumber, lookUp, plural, state } from "./page.js";

/**
 * The content type the workflow derives from a file's name (its extension, as config.json lists them), or "":
 * the API lists a type's allowed extensions; the content type sent for a file is this one.
 */
export const contentTypeOf = (name) => lookUp(state.config.contentTypes, extensionOf(name));

/** Files picked are added to the message (the picker can be used again); each is checked on the way in.
 * `changed` re-checks the form (compose.js's check), after every change of the files. */
export function filesPicked(changed) {
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
  changed();
}

export function renderFiles() {
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

export function fileListClicked(event, changed) {
  const button = event.target.closest("[data-remove]");
  if (!button || state.sending) return;
  const id = Number(button.dataset.remove);
  const index = state.files.findIndex((entry) => entry.id === id);
  state.files = state.files.filter((entry) => entry.id !== id);
  state.fileRejections = [];
  state.idempotencyKey = null;
  renderFiles();
  changed();
  // Keep keyboard users in the list: focus the next file's name, else the picker.
  const next = state.files[Math.min(index, state.files.length - 1)];
  (next ? $(`file-${next.id}-name`) : $("file-input")).focus();
}

export function fileRenamed(event, changed) {
  const input = event.target.closest("[data-rename]");
  if (!input) return;
  const entry = state.files.find((item) => item.id === Number(input.dataset.rename));
  if (!entry) return;
  entry.name = input.value;
  state.idempotencyKey = null;
  const progress = $(`file-${entry.id}-progress`);
  if (progress) progress.setAttribute("aria-label", `Upload of ${entry.name}`);
  changed();
}

/** Why the name the buyer sees would be refused (mirrors buyer_messaging.validation.file_name_problem). */
export function fileNameProblem(name, originalName) {
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

// ------------------------------------------------------------------------------------------------ upload

export class UploadError extends Error {}

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
export function uploadToS3(entry, post) {
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
export async function stageFile(entry) {
  try {
    return await api("POST", "attachments", {
      body: { fileName: entry.name, contentType: contentTypeOf(entry.name), size: entry.file.size, ...sellerField() },
    });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 400) throw error;
    const details = error.fieldErrors.map(({ field, message }) => `${field} ${message}`).join("; ");
    throw new UploadError(`${entry.name} was not accepted: ${details || error.body.message || "no reason given"}.`);
  }
}
