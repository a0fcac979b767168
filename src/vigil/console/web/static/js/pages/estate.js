// Estate overview: every store, its health, open incidents and risk. The list can hold
// thousands of stores, so only the rows in view (plus a few) are in the document. The tile
// map shows the whole estate at once instead: one small square per store, by region,
// coloured by the risk of its open incidents and outlined when its telemetry is not OK.

import { get } from "../api.js";
import { healthBadge, riskBadge } from "../badges.js";
import { byId, fill, h } from "../dom.js";
import { ago, levelLabel, levelOf, number } from "../format.js";

export const ROW_HEIGHT = 40;
const OVERSCAN = 8;
const HEALTH_ORDER = { silent: 0, degraded: 1, unknown: 2, ok: 3 };

/** Stores matching a region, a health status and a text (name, id or region), any of them empty. */
export function filterStores(stores, { region = "", health = "", q = "" } = {}) {
  const needle = q.trim().toLowerCase();
  return stores.filter((store) =>
    (!region || store.region === region)
    && (!health || (store.health?.status ?? "unknown") === health)
    && (!needle || `${store.name} ${store.uid} ${store.region}`.toLowerCase().includes(needle)));
}

const ORDERS = {
  risk: (a, b) => b.risk_max - a.risk_max || b.incidents_open - a.incidents_open,
  incidents: (a, b) => b.incidents_open - a.incidents_open || b.risk_max - a.risk_max,
  health: (a, b) => (HEALTH_ORDER[a.health?.status] ?? 2) - (HEALTH_ORDER[b.health?.status] ?? 2)
    || b.risk_max - a.risk_max,
  name: () => 0,
};

/** A sorted copy; ties fall back to the store's name so the order is stable. */
export function sortStores(stores, key) {
  const order = ORDERS[key] ?? ORDERS.risk;
  return [...stores].sort((a, b) => order(a, b) || String(a.name).localeCompare(String(b.name)));
}

/** The rows [first, last) to draw for a scroll position, with `overscan` rows either side. */
export function visibleRange(scrollTop, viewport, total, rowHeight = ROW_HEIGHT, overscan = OVERSCAN) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { first, last: Math.max(first, last) };
}

/** Counts by health status, for the summary line. */
export function healthCounts(stores) {
  const counts = { ok: 0, degraded: 0, silent: 0, unknown: 0 };
  for (const store of stores) {
    const status = store.health?.status;
    counts[status in counts ? status : "unknown"] += 1;
  }
  return counts;
}

/** One store as a row of the virtual table, placed at its index. */
export function storeRow(store, index, now = Date.now()) {
  const href = `/stores/${encodeURIComponent(store.uid)}`;
  return h("div", { class: "vrow", role: "row", "aria-rowindex": index + 2, style: `top:${index * ROW_HEIGHT}px` },
    h("span", { role: "cell" }, h("a", { href }, store.name), h("span", { class: "muted small" }, ` ${store.uid}`)),
    h("span", { role: "cell" }, store.region),
    h("span", { role: "cell" }, store.open ? "Open" : "Closed"),
    h("span", { role: "cell" }, healthBadge(store.health?.status)),
    h("span", { role: "cell" }, ago(store.health?.last_event_at, now)),
    h("span", { role: "cell", class: "num" }, number(store.health?.events_last_hour)),
    h("span", { role: "cell", class: "num" },
      store.incidents_open > 0 ? h("a", { href: `/queue?store=${encodeURIComponent(store.uid)}` }, number(store.incidents_open)) : "0"),
    h("span", { role: "cell" }, store.incidents_open > 0 || store.risk_max > 0 ? riskBadge(store.risk_max) : h("span", { class: "muted" }, "None")));
}

/** Stores grouped by region (regions by name), each group in the order given. */
export function byRegion(stores) {
  const groups = new Map();
  for (const store of stores) {
    if (!groups.has(store.region)) groups.set(store.region, []);
    groups.get(store.region).push(store);
  }
  return [...groups].sort(([a], [b]) => String(a).localeCompare(String(b)));
}

/** What a tile says in words (its title and label): the colours only repeat it. */
export function tileText(store) {
  const health = store.health?.status ?? "unknown";
  const risk = store.incidents_open > 0 ? `${levelLabel(levelOf(store.risk_max))} risk ${number(store.risk_max, 0)}` : "no open incidents";
  const open = store.incidents_open === 1 ? "1 open incident" : `${number(store.incidents_open)} open incidents`;
  return `${store.name} (${store.uid}) · telemetry ${health} · ${store.incidents_open > 0 ? `${open}, ${risk}` : risk}`;
}

/** One store as a tile of the map, linking to its store view. */
export function storeTile(store) {
  const health = ["ok", "degraded", "silent"].includes(store.health?.status) ? store.health.status : "unknown";
  const level = store.incidents_open > 0 ? levelOf(store.risk_max) : "none";
  const text = tileText(store);
  return h("a", {
    class: `tile tile-${level} tile-health-${health}`, href: `/stores/${encodeURIComponent(store.uid)}`,
    title: text, "aria-label": text, role: "listitem", dataset: { uid: store.uid },
  });
}

function drawTiles() {
  fill(byId("estate-tiles-body"), byRegion(state.shown).map(([region, stores]) =>
    h("section", { class: "tile-region" },
      h("h2", {}, region, h("span", { class: "muted small" }, ` · ${number(stores.length)} stores`)),
      h("div", { class: "tiles", role: "list", "aria-label": `Stores of ${region}` }, stores.map(storeTile)))));
}

function tilesShown() {
  return byId("estate-view-tiles").checked;
}

const state = { all: [], shown: [], drawn: "" };

function draw(force = false) {
  const body = byId("estate-body");
  const { first, last } = visibleRange(body.scrollTop, body.clientHeight || 600, state.shown.length);
  const key = `${first}:${last}`;
  if (!force && key === state.drawn) return;
  state.drawn = key;
  const now = Date.now();
  const spacer = byId("estate-spacer");
  spacer.style.height = `${state.shown.length * ROW_HEIGHT}px`;
  fill(spacer, state.shown.slice(first, last).map((store, i) => storeRow(store, first + i, now)));
}

function apply() {
  const filters = { region: byId("estate-region").value, health: byId("estate-health").value, q: byId("estate-q").value };
  state.shown = sortStores(filterStores(state.all, filters), byId("estate-sort").value);
  const counts = healthCounts(state.shown);
  const open = state.shown.reduce((sum, store) => sum + (store.incidents_open || 0), 0);
  byId("estate-summary").textContent = `${number(state.shown.length)} of ${number(state.all.length)} stores · `
    + `${number(counts.ok)} OK, ${number(counts.degraded)} degraded, ${number(counts.silent)} silent, `
    + `${number(counts.unknown)} unknown · ${number(open)} open incidents`;
  byId("estate-table").setAttribute("aria-rowcount", String(state.shown.length + 1));
  const tiles = tilesShown();
  byId("estate-table").hidden = tiles;
  byId("estate-tiles").hidden = !tiles;
  if (tiles) drawTiles(); else draw(true);
}

function fillRegions() {
  const select = byId("estate-region");
  const chosen = select.value;
  const regions = [...new Set(state.all.map((store) => store.region))].sort();
  fill(select, h("option", { value: "" }, "All regions"), regions.map((region) => h("option", { value: region }, region)));
  select.value = regions.includes(chosen) ? chosen : "";
}

async function load() {
  try {
    state.all = await get("/api/stores");
    fillRegions();
    apply();
  } catch (error) {
    byId("estate-summary").textContent = `Could not load the stores: ${error.message}`;
  }
}

export function start() {
  let frame = 0;
  byId("estate-body").addEventListener("scroll", () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }, { passive: true });
  addEventListener("resize", () => draw(true));
  for (const id of ["estate-region", "estate-health", "estate-sort", "estate-view-table", "estate-view-tiles"]) {
    byId(id).addEventListener("change", apply);
  }
  if (new URLSearchParams(location.search).get("view") === "tiles") byId("estate-view-tiles").checked = true;
  let typing = 0;
  byId("estate-q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(apply, 120); });
  load();
  setInterval(load, 30000);
}
