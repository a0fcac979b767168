// Entry point of every page: the shared parts (sign-out, the reason dialog, the
// approvals count), then the page's own module named by <body data-page>.

import { post, get } from "./api.js";
import { byId, can, currentUser } from "./dom.js";

async function signOut() {
  try { await post("/api/auth/logout"); } finally { location.assign("/login"); }
}

async function approvalsCount() {
  const badge = byId("nav-approvals");
  if (!badge || !can(currentUser(), "approver")) return;
  try {
    const pending = await get("/api/approvals?status=pending");
    badge.textContent = String(pending.length);
    badge.hidden = pending.length === 0;
    badge.setAttribute("aria-label", `${pending.length} waiting`);
  } catch { badge.hidden = true; }
}

const page = document.body.dataset.page;
byId("sign-out")?.addEventListener("click", signOut);
if (page !== "login") {
  approvalsCount();
  setInterval(approvalsCount, 30000);
}
if (page && /^[a-z]+$/.test(page)) {
  const module = await import(`./pages/${page}.js`);
  module.start();
}
