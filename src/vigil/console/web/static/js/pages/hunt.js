// Hunt: search events by class, store, time and field=value, or read-only SQL over
// the lake; results as a table and a time chart; saved searches.

import { get, post } from "../api.js";
import { bucket, histogram } from "../chart.js";
import { byId, fill, h, notify } from "../dom.js";
import { number } from "../format.js";
import { ask } from "../prompt.js";
import { tableParts } from "../tables.js";

/** The search request for the form's values; empty fields are left out, times become UTC ISO. */
export function searchBody({ eventClass, store, since, until, limit, filters }) {
  const body = { event_class: eventClass, filters: {}, limit: Number(limit) || 200 };
  for (const [field, value] of filters) if (field.trim()) body.filters[field.trim()] = value;
  if (store) body.store = store;
  if (since) body.since = new Date(since).toISOString();
  if (until) body.until = new Date(until).toISOString();
  return body;
}

/** A saved query as the API stores it: `{"sql": ...}` or a search request body. */
export function encodeSaved(query) {
  return query.mode === "sql" ? { sql: query.sql } : searchBody(query.search);
}

/** "2025-03-01T10:00" in the viewer's zone, for a datetime-local field. */
export function localInput(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A stored query back as the form's values: {mode: "sql", sql} or {mode: "search", search}. */
export function decodeSaved(query) {
  if (typeof query?.sql === "string") return { mode: "sql", sql: query.sql };
  const body = query ?? {};
  return {
    mode: "search",
    search: {
      eventClass: body.event_class ?? "", store: body.store ?? "", since: localInput(body.since),
      until: localInput(body.until), limit: body.limit ?? 200,
      filters: Object.entries(body.filters ?? {}).map(([field, value]) => [field, String(value ?? "")]),
    },
  };
}

const TIME_NAMES = /^(time|t|timestamp|ts)$|(_time|_at)$/i;

/** The first column whose name reads like a time and whose values parse as times, or -1. */
export function timeColumn(columns, rows) {
  return columns.findIndex((name, i) => TIME_NAMES.test(name)
    && rows.some((row) => row[i] !== null && !Number.isNaN(new Date(row[i]).getTime())));
}

function filterRow(field = "", value = "") {
  const row = h("div", { class: "filter-row" },
    h("input", { class: "f-field", placeholder: "field (e.g. actor.user.name)", value: field, "aria-label": "Field" }),
    h("span", {}, "="),
    h("input", { class: "f-value", placeholder: "value", value, "aria-label": "Value" }),
    h("button", { type: "button", class: "link", "aria-label": "Remove filter" }, "Remove"));
  row.querySelector("button").addEventListener("click", () => row.remove());
  return row;
}

function form() {
  return {
    eventClass: byId("hunt-class").value,
    store: byId("hunt-store").value.trim(),
    since: byId("hunt-since").value,
    until: byId("hunt-until").value,
    limit: byId("hunt-limit").value,
    filters: [...document.querySelectorAll("#hunt-filters .filter-row")].map((row) =>
      [row.querySelector(".f-field").value, row.querySelector(".f-value").value]),
  };
}

function showResults(columns, rows, total, points) {
  byId("hunt-count").textContent = total !== undefined && total !== rows.length
    ? `${number(rows.length)} shown of ${number(total)}` : `${number(rows.length)} rows`;
  fill(byId("hunt-chart"), histogram(points));
  fill(byId("hunt-table"), tableParts(columns, rows));
}

async function search() {
  try {
    const answer = await post("/api/hunt/search", searchBody(form()));
    showResults(answer.columns, answer.rows, answer.total, answer.histogram);
  } catch (error) {
    notify(`Search failed: ${error.message}`, "error");
  }
}

async function sql() {
  try {
    const answer = await post("/api/hunt/sql", { sql: byId("hunt-sql-text").value });
    const at = timeColumn(answer.columns, answer.rows);
    showResults(answer.columns, answer.rows, undefined, at >= 0 ? bucket(answer.rows.map((row) => row[at])) : []);
  } catch (error) {
    notify(`Query refused: ${error.message}`, "error");
  }
}

function tab(which) {
  const onSql = which === "sql";
  byId("hunt-sql").hidden = !onSql;
  byId("hunt-search").hidden = onSql;
  byId("tab-sql").setAttribute("aria-selected", String(onSql));
  byId("tab-search").setAttribute("aria-selected", String(!onSql));
}

function load(query) {
  if (query.mode === "sql") {
    byId("hunt-sql-text").value = query.sql;
    tab("sql");
    sql();
    return;
  }
  const saved = query.search;
  if (saved.eventClass) byId("hunt-class").value = saved.eventClass;
  byId("hunt-store").value = saved.store ?? "";
  byId("hunt-since").value = saved.since ?? "";
  byId("hunt-until").value = saved.until ?? "";
  byId("hunt-limit").value = saved.limit;
  fill(byId("hunt-filters"), (saved.filters ?? []).map(([field, value]) => filterRow(field, value)));
  tab("search");
  search();
}

async function savedList() {
  try {
    const saved = await get("/api/hunt/saved");
    fill(byId("hunt-saved"), saved.length ? saved.map((item) => h("li", {},
      h("button", { type: "button", class: "link", onclick: () => load(decodeSaved(item.query)) }, item.name),
      h("span", { class: "muted small" }, ` ${decodeSaved(item.query).mode === "sql" ? "SQL" : "search"}`)))
      : h("li", { class: "muted" }, "None yet."));
  } catch (error) {
    fill(byId("hunt-saved"), h("li", { class: "error" }, `Could not load: ${error.message}`));
  }
}

async function save(query) {
  const name = await ask({ title: "Save this search", label: "Name", confirm: "Save" });
  if (!name) return;
  try {
    await post("/api/hunt/saved", { name, query: encodeSaved(query) });
    notify(`Saved “${name}”.`);
    savedList();
  } catch (error) {
    notify(`Could not save: ${error.message}`, "error");
  }
}

export function start() {
  byId("tab-search").addEventListener("click", () => tab("search"));
  byId("tab-sql").addEventListener("click", () => tab("sql"));
  byId("hunt-add-filter").addEventListener("click", () => byId("hunt-filters").append(filterRow()));
  byId("hunt-search").addEventListener("submit", (event) => { event.preventDefault(); search(); });
  byId("hunt-sql").addEventListener("submit", (event) => { event.preventDefault(); sql(); });
  byId("hunt-save-search").addEventListener("click", () => save({ mode: "search", search: form() }));
  byId("hunt-save-sql").addEventListener("click", () => save({ mode: "sql", sql: byId("hunt-sql-text").value }));
  byId("hunt-filters").append(filterRow());
  savedList();
}
