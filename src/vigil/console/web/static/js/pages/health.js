// Health: ingest per source (with a rate from the last two readings), dead letters,
// lag and workers. Refreshes every 10 s.

import { get } from "../api.js";
import { bar } from "../badges.js";
import { byId, fill, h, notify } from "../dom.js";
import { ago, duration, number, time, words } from "../format.js";
import { tableParts } from "../tables.js";

/** Events per second per source between two readings taken `seconds` apart. */
export function rates(before, after, seconds) {
  const old = new Map((before ?? []).map((row) => [row.source, row.events]));
  const out = {};
  for (const row of after ?? []) {
    out[row.source] = old.has(row.source) && seconds > 0 ? Math.max(0, (row.events - old.get(row.source)) / seconds) : null;
  }
  return out;
}

/** "ok", "lagging" (over a minute) or "stale" (over ten, or never heard from), always with words. */
export function lagState(lag) {
  if (lag === null || lag === undefined) return "stale";
  if (lag > 600) return "stale";
  if (lag > 60) return "lagging";
  return "ok";
}

/**
 * A source as people name it: a file or tailed file by its file name and kind
 * ("sample_events.ndjson · file"), anything else as the pipeline names it. The full
 * name stays in the cell's tooltip.
 */
export function sourceName(source) {
  const text = String(source ?? "");
  const match = /^(file|tail):(.*[\\/])?([^\\/]+)$/.exec(text);
  return match ? `${match[3]} · ${match[1]}` : text;
}

function sourceCell(source) {
  return h("span", { title: source }, sourceName(source));
}

const LAG_WORDS = { ok: "OK", lagging: "Lagging", stale: "Stale" };
const state = { last: null, at: 0 };

function show(health, perSecond) {
  fill(byId("health-sources"), tableParts(
    ["Source", "Format", "Records", "Events", "Rejected", "Rate", "Last", "Lag"], health.sources ?? [], {
      cell: (name, _v, row) => ({
        Source: sourceCell(row.source), Format: row.format, Records: number(row.records), Events: number(row.events),
        Rejected: row.records ? `${number(row.rejected)} (${number((100 * row.rejected) / row.records, 1)}%)` : number(row.rejected),
        Rate: perSecond[row.source] === null || perSecond[row.source] === undefined ? "measuring…" : `${number(perSecond[row.source], 1)}/s`,
        Last: h("span", { title: time(row.last_at) }, ago(row.last_at)),
        Lag: h("span", { class: `badge lag-${lagState(row.lag_s)}` }, `${LAG_WORDS[lagState(row.lag_s)]} · ${duration(row.lag_s)}`),
      })[name],
      empty: "No source has delivered anything yet.",
    }));
  const dead = health.dead_letters ?? { total: 0, by_source: {} };
  byId("health-dead-total").textContent = `${number(dead.total)} in all`;
  const entries = Object.entries(dead.by_source ?? {}).sort((a, b) => b[1] - a[1]);
  const top = Math.max(1, ...entries.map(([, n]) => n));
  fill(byId("health-dead"), tableParts(["Source", "Dead letters"], entries, {
    cell: (name, _v, [source, count]) => (name === "Source" ? sourceCell(source) : bar(count, top, number(count))),
    empty: "No dead letters.",
  }));
  fill(byId("health-workers"), tableParts(["Worker", "Status", "Detail"], health.workers ?? [], {
    cell: (name, _v, w) => ({
      Worker: w.name, Status: h("span", { class: `badge worker-${String(w.status).replace(/[^a-z_]/g, "")}` }, words(w.status)), Detail: w.detail,
    })[name],
  }));
}

async function load() {
  try {
    const health = await get("/api/health");
    const now = Date.now();
    const perSecond = state.last ? rates(state.last.sources, health.sources, (now - state.at) / 1000) : {};
    state.last = health;
    state.at = now;
    show(health, perSecond);
    byId("health-updated").textContent = `Updated ${time(new Date(now).toISOString())}`;
  } catch (error) {
    notify(`Could not load health: ${error.message}`, "error");
  }
}

export function start() {
  load();
  setInterval(load, 10000);
}
