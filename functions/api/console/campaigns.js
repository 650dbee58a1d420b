// The campaigns page: a manifest file checked row by row (POST /campaigns with dryRun), then sent on the seller's
// word (POST /campaigns), its progress read from GET /campaigns/{id} until the run is over, then its report, the
// rows to fix and "send the rows not sent again" (POST /campaigns/{id}/runs); and the latest campaigns.
//
// The facts it shows come from GET /console/config.json (config.campaigns: the formats, the row and byte limits,
// the words of each run status; config.errors: each error in words), never written here.

import { api, ApiError, apiFile, describeApiError, errorText, sellerField } from "./api.js";
import { $, el, fill, focusHeading, formatNumber, isCount, lookUp, objectOr, plural, show, state, textOf } from "./page.js";

const POLL_INTERVAL_MS = 1000;
const NOT_RECORDED_YET_MS = 30 * 1000; // the record is written by the run's first step, a moment after the 202

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const campaignFacts = () => objectOr(state.config.campaigns, {});
const campaign = { post: null, id: null, following: null, run: 0 };

/** The manifest's name for campaigns/{name}.{format}: the file's name without its extension, made safe. */
function nameOf(fileName) {
  const stem = fileName.replace(/\.[^.]*$/, "");
  return stem.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100) || "campaign";
}

/** What the hint under the file picker says: the formats and the limits, as config.json states them. */
export function describeLimits() {
  const facts = campaignFacts();
  const formats = Array.isArray(facts.formats) ? facts.formats.map((format) => `.${textOf(format)}`) : [];
  const rows = isCount(facts.maxRows) ? `, up to ${plural(facts.maxRows, "row")}` : "";
  const bytes = isCount(facts.maxBytes) ? ` and ${formatNumber(facts.maxBytes)} bytes` : "";
  fill(
    $("manifest-hint"),
    `A ${formats.join(" or ")} manifest: one row per message${rows}${bytes}. Larger files go to the staging bucket `,
    "under ",
    el("code", {}, "campaigns/"),
    " directly.",
  );
}

export async function checkManifest(event) {
  event.preventDefault();
  const file = $("manifest-file").files[0];
  setCampaignError("");
  if (!file) {
    setCampaignError("Choose a manifest file first.");
    return;
  }
  const format = file.name.toLowerCase().endsWith(".jsonl") ? "jsonl" : "csv";
  const facts = campaignFacts();
  if (isCount(facts.maxBytes) && file.size > facts.maxBytes) {
    setCampaignError(
      `${file.name} has ${formatNumber(file.size)} bytes: the console takes up to ${formatNumber(facts.maxBytes)}. ` +
        "Upload it to the staging bucket under campaigns/ instead.",
    );
    return;
  }
  const name = $("campaign-name").value.trim() || nameOf(file.name);
  campaign.post = { name, format, manifest: await file.text() };
  try {
    showPreview(await api("POST", "campaigns", { body: { ...campaign.post, ...sellerField(), dryRun: true } }));
  } catch (error) {
    setCampaignError(describeCampaignError(error));
  }
}

export function fileChosen() {
  const file = $("manifest-file").files[0];
  if (file && !$("campaign-name").value.trim()) $("campaign-name").value = nameOf(file.name);
  show("campaign-preview", false);
}

/** A refusal in words: the API's message says what to change (the file, the name, a run still going). */
function describeCampaignError(error) {
  if (error instanceof ApiError && [400, 404, 409, 413].includes(error.status)) {
    const words = error.status === 400 ? "" : errorText(error.body.error);
    return [words, error.body.message].filter(Boolean).join(" ");
  }
  return describeApiError(error);
}

function setCampaignError(message) {
  $("campaign-error").textContent = message;
}

function statusCell(item) {
  if (item.status === "ready") return el("td", { className: "ready" }, "Ready");
  return el("td", { className: "invalid" }, el("strong", {}, textOf(item.error) || "Invalid"), ": ", textOf(item.cause));
}

function showPreview(raw) {
  const preview = objectOr(raw, {});
  const items = Array.isArray(preview.items) ? preview.items.map((item) => objectOr(item, {})) : [];
  const ready = isCount(preview.ready) ? preview.ready : 0;
  const rows = isCount(preview.rows) ? preview.rows : items.length;
  const invalid = isCount(preview.invalid) ? preview.invalid : rows - ready;
  fill($("preview-summary"), `${plural(rows, "row")}: ${formatNumber(ready)} ready, ${formatNumber(invalid)} will not be sent.`);
  fill(
    $("preview-rows"),
    items.map((item) =>
      el(
        "tr",
        {},
        el("td", {}, isCount(item.row) ? formatNumber(item.row) : ""),
        el("td", {}, textOf(item.amazonOrderId)),
        el("td", {}, textOf(item.messageType)),
        statusCell(item),
      ),
    ),
  );
  $("send-campaign").textContent = `Send ${plural(ready, "message")}`;
  $("send-campaign").disabled = ready === 0;
  show("campaign-preview");
  focusHeading("preview-title");
}

export async function sendCampaign() {
  if (!campaign.post) return;
  $("send-campaign").disabled = true;
  setCampaignError("");
  try {
    const body = { ...campaign.post, ...sellerField(), dryRun: false };
    const accepted = objectOr(await api("POST", "campaigns", { body }), {});
    show("campaign-preview", false);
    followCampaign(textOf(accepted.campaignId), 1);
  } catch (error) {
    $("send-campaign").disabled = false;
    setCampaignError(describeCampaignError(error));
  }
}

export function chooseAnotherFile() {
  campaign.post = null;
  $("campaign-form").reset();
  show("campaign-preview", false);
  show("campaign-progress", false);
  $("manifest-file").focus();
}

/** GET /campaigns/{id}, read once: counts as counts, texts as strings. */
function recordOf(raw) {
  const record = objectOr(raw, {});
  const count = (name) => (isCount(record[name]) ? record[name] : 0);
  const failedBy = objectOr(record.failedBy, {});
  return {
    campaignId: textOf(record.campaignId),
    name: textOf(record.name),
    status: textOf(record.status),
    run: count("run"),
    done: record.done === true,
    rows: count("rows"),
    ...Object.fromEntries(["invalid", "waiting", "sent", "failed", "unknown"].map((name) => [name, count(name)])),
    failedBy: Object.entries(failedBy).filter(([, n]) => isCount(n) && n > 0),
    error: textOf(record.error),
    cause: textOf(record.cause),
    hasReport: typeof record.reportUrl === "string",
  };
}

function statusWords(record) {
  const words = lookUp(objectOr(campaignFacts().statuses, {}), record.status) || record.status;
  return record.run > 1 ? `${words} (run ${formatNumber(record.run)})` : words;
}

function renderCampaign(record) {
  fill($("campaign-title"), record.name || record.campaignId);
  fill($("campaign-status"), statusWords(record));
  const done = record.sent + record.failed + record.unknown + record.invalid;
  const bar = $("campaign-bar");
  bar.max = Math.max(record.rows, 1);
  bar.value = Math.min(done, bar.max);
  bar.setAttribute("aria-valuetext", `${formatNumber(done)} of ${plural(record.rows, "row")} done`);
  const counts = [
    ["Waiting", record.waiting],
    ["Sent", record.sent],
    ["Failed", record.failed],
    ["No answer (may have reached the buyer)", record.unknown],
    ["Not sendable (the check refused them)", record.invalid],
  ];
  fill($("campaign-counts"), counts.flatMap(([label, n]) => [el("dt", {}, label), el("dd", {}, formatNumber(n))]));
  fill(
    $("campaign-failed-by"),
    record.failedBy.map(([name, n]) =>
      el("li", {}, el("code", {}, name), `: ${formatNumber(n)}`, errorText(name) ? ` · ${errorText(name)}` : ""),
    ),
  );
  fill($("campaign-cause"), record.status === "failed" && record.cause ? `${record.error}: ${record.cause}` : "");
  show("campaign-finished", record.done);
  show("download-report", record.done && record.hasReport);
  show("download-failed-rows", record.done && record.hasReport && record.failed + record.invalid > 0);
  show("send-again", record.done && (record.failed > 0 || record.status === "failed"));
}

/** Follows a campaign until its run `run` (or, without one, its latest run) is over. */
export function followCampaign(campaignId, run = 0) {
  if (!campaignId) {
    setCampaignError("The server accepted the campaign but did not say which one it is: this page cannot follow it.");
    return;
  }
  campaign.id = campaignId;
  campaign.following = campaignId;
  campaign.run = run;
  fill($("campaign-title"), "");
  fill($("campaign-status"), "Starting…");
  show("campaign-finished", false);
  show("campaign-progress");
  focusHeading("campaign-title");
  poll(campaignId);
}

async function poll(campaignId) {
  const started = Date.now();
  while (campaign.following === campaignId) {
    try {
      const record = recordOf(await api("GET", `campaigns/${encodeURIComponent(campaignId)}`));
      if (campaign.following !== campaignId) return;
      // A run just started is begun by its first step a moment later: until then the record shows the one before.
      if (record.run < campaign.run) {
        await sleep(POLL_INTERVAL_MS);
        continue;
      }
      renderCampaign(record);
      if (record.done) {
        campaign.following = null;
        listCampaigns();
        return;
      }
    } catch (error) {
      const notYet = error instanceof ApiError && error.status === 404 && Date.now() - started < NOT_RECORDED_YET_MS;
      const passing = error instanceof ApiError && (error.status === 0 || error.status === 503);
      if (!notYet && !passing) {
        fill($("campaign-status"), `The progress could not be read (${describeApiError(error)}).`);
        campaign.following = null;
        return;
      }
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

/** A CSV the API serves as an attachment, saved by the browser under the name the API gives. */
async function download(path) {
  setCampaignError("");
  try {
    const file = await apiFile(`campaigns/${encodeURIComponent(campaign.id)}/${path}`);
    const link = el("a", { href: URL.createObjectURL(file.blob), download: file.name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (error) {
    setCampaignError(describeCampaignError(error));
  }
}

export const downloadReport = () => download("report");
export const downloadFailedRows = () => download("failed-rows");

export async function sendAgain() {
  setCampaignError("");
  try {
    const started = objectOr(await api("POST", `campaigns/${encodeURIComponent(campaign.id)}/runs`), {});
    followCampaign(campaign.id, isCount(started.run) ? started.run : 0);
  } catch (error) {
    setCampaignError(describeCampaignError(error));
  }
}

/** GET /campaigns: the latest campaigns, each a button that shows its progress. */
export async function listCampaigns() {
  let listed;
  try {
    listed = objectOr(await api("GET", "campaigns"), {});
  } catch (error) {
    fill($("recent-campaigns"), el("li", {}, `The campaigns could not be listed (${describeApiError(error)}).`));
    return;
  }
  const records = Array.isArray(listed.campaigns) ? listed.campaigns.map(recordOf) : [];
  if (!records.length) {
    fill($("recent-campaigns"), el("li", {}, "No campaigns yet."));
    return;
  }
  fill(
    $("recent-campaigns"),
    records.map((record) =>
      el(
        "li",
        {},
        el("button", { type: "button", className: "link-button", "data-campaign": record.campaignId }, record.name),
        ` · ${statusWords(record)} · ${formatNumber(record.sent)} of ${plural(record.rows, "row")} sent`,
      ),
    ),
  );
}

export function recentClicked(event) {
  const button = event.target.closest("button[data-campaign]");
  if (button) followCampaign(button.getAttribute("data-campaign"));
}
