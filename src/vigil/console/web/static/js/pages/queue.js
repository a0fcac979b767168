// Incident queue: highest risk first, updated live from /api/incidents/stream, with
// selection and bulk actions (assign, status, verdict).

import { get, post, withQuery } from "../api.js";
import { riskBadge, statusBadge } from "../badges.js";
import { byId, can, currentUser, fill, h, notify } from "../dom.js";
import { ago, number, words } from "../format.js";

export const DONE = new Set(["resolved", "closed", "merged"]);
const OPEN = "new,acknowledged,contained,reopened";

/** The API query for the filters: "" asks for the open statuses, "all" for every one. */
export function queryOf(filters, cursor = null) {
  const status = filters.status === "all" ? null : filters.status || OPEN;
  return withQuery("/api/incidents", {
    status, store: filters.store, min_risk: filters.minRisk, q: filters.q, limit: 50, cursor,
  });
}

/** Whether a (live) incident belongs in the list under these filters. */
export function matches(incident, filters) {
  if (filters.status === "" && DONE.has(incident.status)) return false;
  if (filters.status && filters.status !== "all" && incident.status !== filters.status) return false;
  if (filters.store && !(incident.stores ?? []).includes(filters.store)) return false;
  if (filters.minRisk !== "" && filters.minRisk !== undefined && incident.risk < Number(filters.minRisk)) return false;
  const needle = (filters.q ?? "").trim().toLowerCase();
  if (!needle) return true;
  const text = [incident.title, incident.uid, incident.use_case, ...(incident.stores ?? [])].join(" ");
  return text.toLowerCase().includes(needle);
}

/** Risk first, then the most recently updated, then the id, so the order never flickers. */
export function ordered(incidents) {
  return [...incidents].sort((a, b) => b.risk - a.risk
    || String(b.updated_at).localeCompare(String(a.updated_at)) || String(a.uid).localeCompare(String(b.uid)));
}

function storesCell(stores) {
  const list = stores ?? [];
  if (!list.length) return h("span", { class: "muted" }, "Estate-wide");
  const shown = list.slice(0, 3).join(", ");
  return list.length > 3 ? `${shown} +${list.length - 3}` : shown;
}

/** One incident as a table row; `selected` ticks its box, `fresh` marks a live change. */
export function incidentRow(incident, { selected = false, fresh = false, now = Date.now() } = {}) {
  const href = `/incidents/${encodeURIComponent(incident.uid)}`;
  return h("tr", { class: fresh ? "fresh" : null, dataset: { uid: incident.uid } },
    h("td", { class: "check" }, h("input", {
      type: "checkbox", class: "pick", checked: selected, value: incident.uid, "aria-label": `Select ${incident.title}`,
    })),
    h("td", {}, riskBadge(incident.risk, incident.risk_level)),
    h("td", {}, h("a", { href }, incident.title), h("div", { class: "muted small" }, words(incident.use_case))),
    h("td", {}, statusBadge(incident.status)),
    h("td", {}, storesCell(incident.stores)),
    h("td", { class: "num" }, number(incident.alerts)),
    h("td", {}, incident.assignee ?? h("span", { class: "muted" }, "Unassigned")),
    h("td", {}, incident.verdict ? words(incident.verdict) : h("span", { class: "muted" }, "–")),
    h("td", { title: incident.updated_at ?? "" }, ago(incident.updated_at, now)));
}

const state = { items: new Map(), selected: new Set(), fresh: new Set(), cursor: null, frame: 0 };

function filters() {
  return {
    status: byId("queue-status").value,
    minRisk: byId("queue-min-risk").value,
    store: byId("queue-store").value.trim(),
    q: byId("queue-q").value.trim(),
  };
}

function render() {
  state.frame = 0;
  const now = Date.now();
  const rows = ordered([...state.items.values()]).map((incident) => incidentRow(incident, {
    selected: state.selected.has(incident.uid), fresh: state.fresh.has(incident.uid), now,
  }));
  fill(byId("queue-body"), rows);
  byId("queue-empty").hidden = rows.length > 0;
  byId("queue-more").hidden = !state.cursor;
  renderSelection();
}

function later() {
  if (!state.frame) state.frame = requestAnimationFrame(render);
}

function renderSelection() {
  for (const uid of [...state.selected]) if (!state.items.has(uid)) state.selected.delete(uid);
  const count = state.selected.size;
  byId("queue-bulk").hidden = count === 0 || !can(currentUser(), "analyst");
  byId("queue-selected").textContent = `${count} selected`;
  const all = byId("queue-all");
  all.checked = count > 0 && count === state.items.size;
  all.indeterminate = count > 0 && count < state.items.size;
}

async function load(more = false) {
  const current = filters();
  try {
    const page = await get(queryOf(current, more ? state.cursor : null));
    if (!more) state.items.clear();
    for (const incident of page.items) if (matches(incident, current)) state.items.set(incident.uid, incident);
    state.cursor = page.next_cursor;
    render();
  } catch (error) {
    notify(`Could not load incidents: ${error.message}`, "error");
  }
}

function onLive(event) {
  let incident;
  try { incident = JSON.parse(event.data); } catch { return; }
  if (!incident?.uid) return;
  if (matches(incident, filters())) {
    state.items.set(incident.uid, incident);
    state.fresh.add(incident.uid);
    setTimeout(() => { state.fresh.delete(incident.uid); later(); }, 5000);
  } else state.items.delete(incident.uid);
  later();
}

function live() {
  const badge = byId("queue-live");
  const source = new EventSource("/api/incidents/stream");
  source.addEventListener("incident", onLive);
  source.addEventListener("open", () => { badge.dataset.state = "live"; badge.textContent = "Live"; });
  source.addEventListener("error", () => {
    badge.dataset.state = "down";
    badge.textContent = "Reconnecting…";
  });
}

async function bulk(action, value) {
  const uids = [...state.selected];
  if (!uids.length) return;
  if (action === "assign" && !value) { notify("Type a username to assign to.", "error"); return; }
  try {
    await post("/api/incidents/bulk", { uids, action, value });
    notify(`${words(action)} set on ${uids.length} incident${uids.length === 1 ? "" : "s"}.`);
    state.selected.clear();
    await load();
  } catch (error) {
    notify(`Bulk ${action} failed: ${error.message}`, "error");
  }
}

function wire() {
  const body = byId("queue-body");
  body.addEventListener("change", (event) => {
    const box = event.target;
    if (!box.classList?.contains("pick")) return;
    if (box.checked) state.selected.add(box.value); else state.selected.delete(box.value);
    renderSelection();
  });
  byId("queue-all").addEventListener("change", (event) => {
    if (event.target.checked) for (const uid of state.items.keys()) state.selected.add(uid);
    else state.selected.clear();
    render();
  });
  byId("bulk-assign").addEventListener("click", () => bulk("assign", byId("bulk-assignee").value.trim()));
  byId("bulk-assign-me").addEventListener("click", () => bulk("assign", currentUser().username));
  byId("bulk-status-apply").addEventListener("click", () => bulk("status", byId("bulk-status").value));
  byId("bulk-verdict-apply").addEventListener("click", () => bulk("verdict", byId("bulk-verdict").value));
  byId("bulk-clear").addEventListener("click", () => { state.selected.clear(); render(); });
  byId("queue-more").addEventListener("click", () => load(true));
  let typing = 0;
  const reload = () => { clearTimeout(typing); typing = setTimeout(() => load(), 200); };
  for (const id of ["queue-status", "queue-min-risk", "queue-store", "queue-q"]) {
    byId(id).addEventListener("input", reload);
  }
}

export function start() {
  const params = new URLSearchParams(location.search);
  if (params.get("store")) byId("queue-store").value = params.get("store");
  if (params.get("status")) byId("queue-status").value = params.get("status");
  wire();
  load();
  live();
}
