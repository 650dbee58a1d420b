// Seller console: order -> message type -> form from the type's rules -> upload to S3 -> send -> live timeline.
//
// Plain ES module, no build step, no dependencies: the API function serves this file as it is. It talks only
// to the HTTP API of docs/api.md (same origin), to S3 through the presigned POSTs the API hands out, and,
// when the deployment has a Cognito user pool, to that pool's endpoint (sign-in with SRP and its challenges).
//
// Content Security Policy: no inline scripts or handlers, no eval, no inline style attributes. Everything
// shown that comes from the API or Amazon (titles, descriptions, causes) is set as text, never as HTML.
//
// The entry module (index.html loads it): it wires the page's forms and buttons to the modules of each step.
// Each module imports only modules listed above it here:
//   page.js     shared DOM helpers, formatting, the page's state
//   srp.js      the SRP maths of the sign-in, as Cognito's user pools speak it
//   signin.js   sign-in to the deployment's Cognito user pool (its screens and challenges)
//   api.js      the calls to the API, and config.json: the facts the page shows and checks, served by the API;
//               the user's sellers: the picker (the seller each send, upload and lookup names) and the banners
//   files.js    3. the message's files: the picker, and each file's upload to S3
//   compose.js  3. the message form and the send (and back to the form after a failure)
//   progress.js 4. the request's timeline and outcome
//   order.js    1. the order, 2. its message types (and back to them for another message)
//   campaigns.js the campaigns page: a manifest checked row by row, sent, followed, its report and rows to fix
//   resend.js   the re-send page: failed requests selected, previewed, re-sent once, each linked to its progress
// app.js joins the send to its timeline, and shows the page the address names (#campaigns, #resend, one request's
// progress at #message/{requestId}, else the message form).

import { loadConfig, loadSellers, sellerChosen } from "./api.js";
import {
  checkManifest,
  chooseAnotherFile,
  describeLimits,
  downloadFailedRows,
  downloadReport,
  fileChosen,
  recentClicked,
  sendAgain,
  listCampaigns,
  sendCampaign,
} from "./campaigns.js";
import { check, editAgain, lockMessage, messageEdited, preventImplicitSubmit, sendMessage } from "./compose.js";
import { fileListClicked, fileRenamed, filesPicked } from "./files.js";
import { fillMarketplaces, findMessageTypes, newMessage, orderEdited, showAllTypes, typeClicked } from "./order.js";
import { $, announce, lookUp, show, state } from "./page.js";
import { startProgress } from "./progress.js";
import { fillResendForm, previewResend, selectionEdited, startResend } from "./resend.js";
import { restoreSession, showSession, signOut, wireSignIn } from "./signin.js";

function wire() {
  wireSignIn(startConsole);
  $("sign-out").addEventListener("click", () => signOut());
  $("order-form").addEventListener("submit", findMessageTypes);
  $("order-id").addEventListener("input", orderEdited);
  $("marketplace").addEventListener("change", orderEdited);
  $("type-list").addEventListener("click", typeClicked);
  // A message the API accepted: its timeline until it is over, then the message stays as it went, read-only.
  const followRequest = (answer) => startProgress(answer, lockMessage);
  $("message-form").addEventListener("submit", (event) => sendMessage(event, followRequest));
  $("message-form").addEventListener("keydown", preventImplicitSubmit);
  $("message-text").addEventListener("input", messageEdited);
  $("coverage-start").addEventListener("input", messageEdited);
  $("coverage-end").addEventListener("input", messageEdited);
  // What changes the files checks the form again (compose.js).
  $("file-input").addEventListener("change", () => filesPicked(check));
  $("file-list").addEventListener("click", (event) => fileListClicked(event, check));
  $("file-list").addEventListener("input", (event) => fileRenamed(event, check));
  $("change-type").addEventListener("click", showAllTypes);
  $("new-message").addEventListener("click", () => newMessageAfterViewing() || newMessage());
  $("edit-again").addEventListener("click", editAgain);
  $("campaign-form").addEventListener("submit", checkManifest);
  $("manifest-file").addEventListener("change", fileChosen);
  $("send-campaign").addEventListener("click", sendCampaign);
  $("another-file").addEventListener("click", chooseAnotherFile);
  $("download-report").addEventListener("click", downloadReport);
  $("download-failed-rows").addEventListener("click", downloadFailedRows);
  $("send-again").addEventListener("click", sendAgain);
  $("recent-campaigns").addEventListener("click", recentClicked);
  $("resend-form").addEventListener("submit", previewResend);
  $("resend-form").addEventListener("input", selectionEdited);
  $("resend-start").addEventListener("click", startResend);
  $("seller-picker").addEventListener("change", sellerChosen);
  window.addEventListener("hashchange", () => {
    if (!$("pages").hidden) showPage();
  });
}

const PAGES = { "#campaigns": "campaigns", "#resend": "resend" };
const REQUEST_PAGE = /^#message\/([^/]+)$/; // one request's progress, as a re-sent request links to it
let viewing = null; // the request whose progress #message/{requestId} shows, in place of the message form

/** One request's progress alone (a link of the re-send page): the message form's steps are another message's. */
function viewRequest(requestId) {
  if (viewing === requestId) return;
  viewing = requestId;
  for (const id of ["order-section", "type-section", "message-section"]) show(id, false);
  // Nothing of this page's form to edit again, and "Send another message" starts at the order.
  startProgress({ requestId }, () => show("edit-again", false));
}

/** The message form as it was, after a request's progress viewed on its own. */
function leaveRequest() {
  if (viewing === null) return;
  viewing = null;
  state.pollingFor = null;
  show("progress-section", false);
  show("order-section");
}

function decoded(component) {
  try {
    return decodeURIComponent(component);
  } catch {
    return component; // a "%" typed into the address: shown as it is, and the API answers that it has no such request
  }
}

/** The page the address names, each a link of the header's navigation; returns its name. */
function showPage() {
  const request = REQUEST_PAGE.exec(window.location.hash);
  const page = lookUp(PAGES, window.location.hash) || "message";
  show("campaigns-section", page === "campaigns");
  show("resend-section", page === "resend");
  show("message-page", page === "message");
  for (const [id, name] of [["nav-message", "message"], ["nav-campaigns", "campaigns"], ["nav-resend", "resend"]]) {
    if (page === name) $(id).setAttribute("aria-current", "page");
    else $(id).removeAttribute("aria-current");
  }
  if (page === "campaigns") listCampaigns();
  if (request) viewRequest(decoded(request[1]));
  else leaveRequest();
  return page;
}

function newMessageAfterViewing() {
  if (viewing === null) return false;
  window.location.hash = ""; // back to the message form (showPage, on hashchange)
  return true;
}

async function startConsole() {
  show("signin-section", false);
  showSession();
  await loadSellers();
  show("pages");
  show("order-section");
  const page = showPage();
  if (page === "campaigns") $("manifest-file").focus();
  else if (page === "resend") $("resend-since").focus();
  else if (viewing === null) $("order-id").focus();
}

async function main() {
  wire();
  try {
    state.config = await loadConfig();
  } catch (error) {
    announce(`The console could not load its configuration (${error.message}). Reload the page to try again.`);
    return;
  }
  fillMarketplaces();
  describeLimits();
  fillResendForm();
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
