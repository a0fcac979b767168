// Sign-in, or the first-run form that creates the administrator while no account exists.

import { ApiError, get, post, setCsrfToken } from "../api.js";
import { byId } from "../dom.js";

/** Where to go after signing in: a same-origin path only, never another site. */
export function nextPath(value) {
  const text = String(value ?? "");
  if (!text.startsWith("/") || text.startsWith("//") || text.includes("\\")) return "/";
  return text;
}

function showError(message) {
  const box = byId("signin-error");
  box.textContent = message;
  box.hidden = !message;
}

async function signIn(username, password) {
  const answer = await post("/api/auth/login", { username, password });
  setCsrfToken(answer.csrf_token);
  location.assign(nextPath(document.body.dataset.next));
}

function busy(form, on) {
  for (const button of form.querySelectorAll("button")) button.disabled = on;
}

function onLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  showError("");
  busy(form, true);
  signIn(byId("login-username").value, byId("login-password").value)
    .catch((error) => {
      showError(error instanceof ApiError && error.status === 401
        ? "Wrong username or password." : error.message);
      byId("login-password").value = "";
      byId("login-password").focus();
    })
    .finally(() => busy(form, false));
}

async function onSetup(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = byId("setup-username").value;
  const password = byId("setup-password").value;
  if (password !== byId("setup-confirm").value) {
    showError("The two passwords differ.");
    return;
  }
  showError("");
  busy(form, true);
  try {
    await post("/api/setup", { username, password });
    await signIn(username, password);
  } catch (error) {
    showError(error instanceof ApiError && error.status === 409
      ? "An administrator already exists: sign in instead." : error.message);
    if (error instanceof ApiError && error.status === 409) showForm(false);
  } finally {
    busy(form, false);
  }
}

/** Offer "Sign in with <provider>" when the console has OIDC sign-in. */
async function offerOidc() {
  const oidc = await get("/api/auth/oidc");
  if (!oidc.enabled) return;
  const link = byId("oidc-link");
  link.textContent = `Sign in with ${oidc.name}`;
  link.href = `${oidc.login_url}?next=${encodeURIComponent(nextPath(document.body.dataset.next))}`;
  byId("oidc-box").hidden = false;
}

/**
 * Back from the provider: the session cookie is SameSite=Strict, so the provider's
 * redirect could not show it; this same-origin call can. Signed in: go on.
 */
async function continueAfterOidc() {
  try {
    const me = await get("/api/auth/me");
    setCsrfToken(me.csrf_token);
    location.assign(nextPath(document.body.dataset.next));
    return true;
  } catch {
    return false;
  }
}

function showForm(setup) {
  byId("setup-form").hidden = !setup;
  byId("login-form").hidden = setup;
  byId(setup ? "setup-username" : "login-username").focus();
}

export async function start() {
  byId("login-form").addEventListener("submit", onLogin);
  byId("setup-form").addEventListener("submit", onSetup);
  if (document.body.dataset.signedIn === "oidc" && await continueAfterOidc()) return;
  let needed = false;
  try {
    needed = Boolean((await get("/api/setup")).needed);
    if (!needed) await offerOidc();
  } catch (error) {
    showError(`The console cannot be reached: ${error.message}`);
  }
  showForm(needed);
}
