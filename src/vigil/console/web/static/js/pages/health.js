// Health: ingest per source (with a rate from the last two readings), dead letters,
// lag and workers. Refreshes every 10 s. Below, the dead letters themselves (newest
// first, per source, page by page) for analysts with every store in scope; they load
// when asked, not with the timer, since each read of raw records is audited.

import { get, withQuery } from "../api.js";
import { bar } from "../badges.js";
import { byId, can, currentUser, fill, h, notify } from "../dom.js";
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
const LETTERS_PAGE = 50;
const RAW_SHOWN = 160;
const letters = { items: [], before: null };

/** A raw record as text: up to RAW_SHOWN characters, the whole record behind a summary. */
export function rawCell(raw) {
  const text = String(raw ?? "");
  if (text.length <= RAW_SHOWN) return h("code", { class: "code break" }, text);
  return h("details", {},
    h("summary", { class: "code break" }, `${text.slice(0, RAW_SHOWN)}…`),
    h("pre", { class: "prose code break" }, text));
}

/** The dead letters table: when kept, the source, where in it, why, and the raw record. */
export function letterParts(items, empty = "No dead letters.") {
  return tableParts(["Kept", "Source", "Position", "Reason", "Raw record"], items, {
    cell: (name, _v, row) => ({
      Kept: time(row.at), Source: sourceCell(row.source), Position: row.position ?? "–",
      Reason: h("span", { class: "break" }, row.reason), "Raw record": rawCell(row.raw),
    })[name],
    empty,
  });
}

/** The source filter's options: every source with dead letters, most first, `selected` kept. */
export function sourceOptions(bySource, selected) {
  const entries = Object.entries(bySource ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (selected && !entries.some(([source]) => source === selected)) entries.push([selected, 0]);
  return [
    h("option", { value: "", selected: !selected }, "All sources"),
    ...entries.map(([source, count]) =>
      h("option", { value: source, selected: source === selected }, `${sourceName(source)} (${number(count)})`)),
  ];
}

function show(health, perSecond) {
  fill(byId("health-sources"), tableParts(
    ["Source", "Format", "Records", "Events", "Rejected", "Dropped", "PANs masked", "Rate", "Last", "Lag"], health.sources ?? [], {
      cell: (name, _v, row) => ({
        Source: sourceCell(row.source), Format: row.format, Records: number(row.records), Events: number(row.events),
        Rejected: row.records ? `${number(row.rejected)} (${number((100 * row.rejected) / row.records, 1)}%)` : number(row.rejected),
        Dropped: row.dropped ? h("span", { class: "badge lag-stale", title: "lost before parsing: UDP while behind, or over the size limit" }, number(row.dropped)) : number(row.dropped ?? 0),
        "PANs masked": number(row.pans_masked ?? 0),
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
  const picker = byId("health-letters-source");
  fill(picker, sourceOptions(dead.by_source, picker.value));
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

function letterNote(text) {
  const note = byId("health-letters-note");
  note.hidden = !text;
  note.textContent = text ?? "";
}

async function loadLetters(more = false) {
  const source = byId("health-letters-source").value;
  try {
    const page = await get(withQuery("/api/health/dead-letters", {
      source, before: more ? letters.before : null, limit: LETTERS_PAGE,
    }));
    letters.items = more ? [...letters.items, ...page.items] : page.items;
    letters.before = page.next_before;
    letterNote(null);
    fill(byId("health-letters"), letterParts(letters.items, source ? "No dead letters from this source." : "No dead letters."));
    byId("health-letters-more").hidden = letters.before === null;
  } catch (error) {
    if (error.status !== 403) notify(`Could not load dead letters: ${error.message}`, "error");
    else letterNote(`Reading dead letters is not allowed: ${error.message}.`);
  }
}

export function start() {
  load();
  setInterval(load, 10000);
  if (!can(currentUser(), "analyst")) {
    letterNote("Reading dead letters needs the analyst role and every store in scope.");
    return;
  }
  loadLetters();
  byId("health-letters-source").addEventListener("change", () => loadLetters());
  byId("health-letters-refresh").addEventListener("click", () => loadLetters());
  byId("health-letters-more").addEventListener("click", () => loadLetters(true));
}
