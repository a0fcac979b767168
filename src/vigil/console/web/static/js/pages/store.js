// Store view: footfall, queues and a heat map from video analytics, after-hours
// events, and till exceptions by cashier.

import { get, seg, withQuery } from "../api.js";
import { bar, healthBadge, riskBadge } from "../badges.js";
import { byId, fill, h, notify } from "../dom.js";
import { lines } from "../chart.js";
import { ago, duration, number, time, words } from "../format.js";
import { tableParts } from "../tables.js";

/** A light-to-dark ramp (pale yellow to deep red): more people-seconds, darker cell. */
export function heatColour(value, max) {
  const f = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  const stops = [[255, 250, 230], [253, 174, 97], [215, 48, 39], [120, 0, 30]];
  const pos = f * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(pos));
  const t = pos - i;
  const [r, g, b] = stops[i].map((c, k) => Math.round(c + (stops[i + 1][k] - c) * t));
  return `rgb(${r},${g},${b})`;
}

/** Paint the grid onto the canvas, one rectangle per cell, scaled to the canvas size. */
export function drawHeatmap(canvas, heatmap) {
  const ctx = canvas.getContext("2d");
  const grid = heatmap?.grid ?? [];
  const rows = grid.length;
  const cols = rows ? Math.max(...grid.map((row) => row.length)) : 0;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!rows || !cols) return 0;
  const max = Math.max(0, ...grid.flat().map(Number));
  const cw = canvas.width / cols;
  const ch = canvas.height / rows;
  grid.forEach((row, y) => row.forEach((value, x) => {
    ctx.fillStyle = heatColour(Number(value), max);
    ctx.fillRect(x * cw, y * ch, Math.ceil(cw), Math.ceil(ch));
  }));
  return max;
}

/** Cashiers by their total exceptions, most first. */
export function cashierTotals(rows) {
  return (rows ?? []).map((row) => ({ ...row, total: (row.voids ?? 0) + (row.refunds ?? 0) + (row.no_sales ?? 0) + (row.discounts ?? 0) }))
    .sort((a, b) => b.total - a.total || String(a.cashier).localeCompare(String(b.cashier)));
}

/** Per camera: the latest queue length and the longest wait. */
export function queueSummary(queues) {
  const cameras = new Map();
  for (const q of queues ?? []) {
    const seen = cameras.get(q.camera) ?? { camera: q.camera, latest: null, at: "", worst: 0 };
    if (String(q.t) >= seen.at) { seen.latest = q.length; seen.at = String(q.t); }
    seen.worst = Math.max(seen.worst, Number(q.wait_s ?? 0));
    cameras.set(q.camera, seen);
  }
  return [...cameras.values()].sort((a, b) => String(a.camera).localeCompare(String(b.camera)));
}

function showView(view) {
  fill(byId("store-footfall"), lines([
    { name: "In", points: (view.footfall ?? []).map((p) => ({ t: p.t, v: p.in })) },
    { name: "Out", points: (view.footfall ?? []).map((p) => ({ t: p.t, v: p.out })) },
  ]));
  const cameras = queueSummary(view.queues);
  fill(byId("store-queues"), lines(cameras.map((camera) => ({
    name: camera.camera, points: view.queues.filter((q) => q.camera === camera.camera).map((q) => ({ t: q.t, v: q.length })),
  }))));
  fill(byId("store-queue-table"), tableParts(["Camera", "Queue now", "Longest wait"], cameras, {
    cell: (name, _v, c) => ({ Camera: c.camera, "Queue now": number(c.latest), "Longest wait": duration(c.worst) })[name],
  }));
  const canvas = byId("store-heatmap");
  if (view.heatmap) {
    byId("store-heat-camera").textContent = `${view.heatmap.camera} · ${view.heatmap.width}×${view.heatmap.height}`;
    const max = drawHeatmap(canvas, view.heatmap);
    canvas.setAttribute("aria-label", `Heat map of camera ${view.heatmap.camera}; busiest cell ${number(max)}`);
  } else {
    byId("store-heat-camera").textContent = "no heat map yet";
  }
  fill(byId("store-after-hours"), tableParts(["Time", "Kind", "What"], view.after_hours ?? [], {
    cell: (name, _v, e) => ({ Time: time(e.time), Kind: words(e.kind), What: e.summary })[name],
    empty: "Nothing happened while the store was closed.",
  }));
  const cashiers = cashierTotals(view.pos_exceptions);
  const top = Math.max(1, ...cashiers.map((c) => c.total));
  fill(byId("store-pos"), tableParts(["Cashier", "Voids", "Refunds", "No sales", "Discounts", "Total"], cashiers, {
    cell: (name, _v, c) => ({
      Cashier: c.cashier, Voids: number(c.voids), Refunds: number(c.refunds), "No sales": number(c.no_sales),
      Discounts: number(c.discounts), Total: bar(c.total, top, number(c.total)),
    })[name],
    empty: "No till exceptions in this window.",
  }));
}

async function head(uid) {
  const stores = await get(withQuery("/api/stores", { q: uid }));
  const store = stores.find((entry) => entry.uid === uid);
  if (!store) return;
  byId("page-title").textContent = store.name;
  document.title = `${store.name} · Vigil`;
  fill(byId("store-head"), h("dl", { class: "facts" },
    h("dt", {}, "Region"), h("dd", {}, store.region),
    h("dt", {}, "Trading"), h("dd", {}, store.open ? "Open" : "Closed"),
    h("dt", {}, "Health"), h("dd", {}, healthBadge(store.health?.status)),
    h("dt", {}, "Last event"), h("dd", {}, ago(store.health?.last_event_at)),
    h("dt", {}, "Open incidents"), h("dd", {}, number(store.incidents_open)),
    h("dt", {}, "Max risk"), h("dd", {}, riskBadge(store.risk_max))));
}

const PANELS = ["store-footfall", "store-queues"];

async function view(uid) {
  const answer = await get(`/api/stores/${seg(uid)}/view`);
  byId("store-window").textContent = answer.since ? `From ${time(answer.since)} to ${time(answer.until)}` : "";
  showView(answer);
}

async function load(first) {
  const uid = document.body.dataset.store;
  if (first) for (const id of PANELS) fill(byId(id), h("p", { class: "muted" }, "Loading…"));
  const results = await Promise.allSettled([head(uid), view(uid)]);
  const failed = results.find((result) => result.status === "rejected");
  if (failed) {
    const error = failed.reason;
    notify(error.status === 404 ? "This store does not exist or is outside your scope." : `Could not load the store: ${error.message}`, "error");
  }
}

export function start() {
  load(true);
  setInterval(() => load(false), 60000);
}
