// Approvals inbox: big cards that work on a phone; one tap opens the reason prompt,
// confirming it approves or rejects. The server refuses the requester (separation of duties).

import { get, post, seg } from "../api.js";
import { levelBadge } from "../badges.js";
import { byId, can, currentUser, fill, h, notify } from "../dom.js";
import { ago, time, words } from "../format.js";
import { ask } from "../prompt.js";

/** Most urgent first: the soonest to expire, then the riskiest. */
export function byUrgency(approvals) {
  const rank = { critical: 0, high: 1, medium: 2, low: 3 };
  return [...approvals].sort((a, b) => String(a.expires_at ?? "~").localeCompare(String(b.expires_at ?? "~"))
    || (rank[a.risk] ?? 4) - (rank[b.risk] ?? 4));
}

/** One pending approval as a card; `own` (the user asked for it) shows why it cannot be decided here. */
export function approvalCard(item, { own = false, allowed = true, now = Date.now() } = {}) {
  const incident = `/incidents/${encodeURIComponent(item.incident_uid)}`;
  return h("article", { class: "approval", dataset: { uid: item.uid } },
    h("header", {}, h("h2", {}, words(item.action)), levelBadge(item.risk)),
    h("p", { class: "why" }, item.why),
    item.impact ? h("p", { class: "impact" }, h("b", {}, "Impact: "), item.impact) : null,
    h("dl", { class: "facts" },
      h("dt", {}, "Stores"), h("dd", {}, (item.stores ?? []).join(", ") || "–"),
      h("dt", {}, "Incident"), h("dd", {}, h("a", { href: incident }, item.incident_uid)),
      h("dt", {}, "Step"), h("dd", {}, item.step),
      h("dt", {}, "Asked by"), h("dd", {}, `${item.requested_by}, ${ago(item.requested_at, now)}`),
      h("dt", {}, "Expires"), h("dd", { title: time(item.expires_at) }, item.expires_at ? ago(item.expires_at, now) : "never")),
    own ? h("p", { class: "muted" }, "You asked for this action; another approver must decide it.")
      : !allowed ? h("p", { class: "muted" }, "Only approvers can decide.")
        : h("div", { class: "big-buttons" },
          h("button", { type: "button", class: "approve", dataset: { verb: "approve" } }, "Approve"),
          h("button", { type: "button", class: "reject", dataset: { verb: "reject" } }, "Reject")));
}

const state = { pending: [] };

function render() {
  const user = currentUser();
  const allowed = can(user, "approver");
  const now = Date.now();
  const cards = byUrgency(state.pending).map((item) => approvalCard(item, { own: item.requested_by === user.username, allowed, now }));
  fill(byId("approvals-list"), cards);
  byId("approvals-summary").textContent = cards.length
    ? `${cards.length} waiting for a decision.` : "Nothing waiting for a decision.";
}

async function load() {
  try {
    state.pending = await get("/api/approvals?status=pending");
    render();
  } catch (error) {
    byId("approvals-summary").textContent = `Could not load approvals: ${error.message}`;
  }
}

async function decide(uid, verb) {
  const item = state.pending.find((entry) => entry.uid === uid);
  if (!item) return;
  const reason = await ask({
    title: verb === "approve" ? `Approve: ${words(item.action)}` : `Reject: ${words(item.action)}`,
    text: item.why, confirm: verb === "approve" ? "Approve" : "Reject", danger: verb === "reject",
  });
  if (reason === null) return;
  try {
    await post(`/api/approvals/${seg(uid)}/${verb}`, { reason });
    state.pending = state.pending.filter((entry) => entry.uid !== uid);
    render();
    byId("approvals-decided-section").hidden = false;
    byId("approvals-decided").prepend(h("li", {}, `${verb === "approve" ? "Approved" : "Rejected"}: ${words(item.action)} (${item.incident_uid}) — ${reason}`));
    notify(verb === "approve" ? "Approved." : "Rejected.");
  } catch (error) {
    notify(`Could not ${verb}: ${error.message}`, "error");
    load();
  }
}

export function start() {
  byId("approvals-list").addEventListener("click", (event) => {
    const button = event.target.closest?.("button[data-verb]");
    const card = button?.closest("article[data-uid]");
    if (button && card) decide(card.dataset.uid, button.dataset.verb);
  });
  load();
  setInterval(load, 20000);
}
