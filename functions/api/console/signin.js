// Sign-in: the page signs in to the deployment's Cognito user pool itself, with SRP (USER_SRP_AUTH; its maths are
// srp.js's): the password never leaves this page, only a proof that the page knows it. Then the challenges the pool
// may ask for: a code from an authenticator app (SOFTWARE_TOKEN_MFA), a first password to replace the temporary one
// (NEW_PASSWORD_REQUIRED), and setting up the authenticator app when MFA is required and the user has none yet
// (MFA_SETUP).

import { $, el, fill, focusHeading, objectOr, setError, show, state, textOf } from "./page.js";
import { passwordClaim, srpStart } from "./srp.js";

const TOKEN_KEY = "buyer-messaging.console.session";
const COGNITO_TARGET = "AWSCognitoIdentityProviderService.";
const APP_NAME = "Buyer Messaging";

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

export function restoreSession() {
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

/** The pool's password rules in words (the hint under "New password"), as config.json gives them. */
function passwordRules() {
  const policy = state.config.auth.passwordPolicy;
  const kinds = [
    policy.uppercase ? "an upper-case letter" : "",
    policy.lowercase ? "a lower-case letter" : "",
    policy.numbers ? "a digit" : "",
    policy.symbols ? "a symbol" : "",
  ].filter(Boolean);
  const list = kinds.length > 1 ? `${kinds.slice(0, -1).join(", ")} and ${kinds[kinds.length - 1]}` : kinds.join("");
  return `At least ${policy.minimumLength} characters${list ? `, with ${list}` : ""}.`;
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
  signedIn();
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

/** What the page does once the user is signed in (app.js: show the order form). */
let signedIn = () => {};

export function wireSignIn(whenSignedIn) {
  signedIn = whenSignedIn;
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

export function signOut(message = "") {
  state.auth = { token: null, expiresAt: 0, user: "" };
  sessionStorage.removeItem(TOKEN_KEY);
  state.pollingFor = null;
  const pages = ["order-section", "type-section", "message-section", "progress-section", "campaigns-section", "pages"];
  for (const id of [...pages, "session"]) show(id, false);
  show("message-page");
  show("signin-section");
  startSignInAgain(message);
  focusHeading("signin-title");
}

export function showSession() {
  const signedIn = Boolean(state.config.auth && state.auth.token);
  show("session", signedIn);
  $("session-user").textContent = signedIn ? `Signed in${state.auth.user ? ` as ${state.auth.user}` : ""}` : "";
}
