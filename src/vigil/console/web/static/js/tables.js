// Plain data tables from API rows: columns in a fixed order, every value as text.

import { h } from "./dom.js";
import { time } from "./format.js";

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Text for any cell value: times in the viewer's zone, objects as compact JSON, nothing as "–". */
export function cellText(value) {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "object") return JSON.stringify(value);
  if (typeof value === "string" && ISO_TIME.test(value)) return time(value);
  return String(value);
}

/** The union of the rows' keys, in first-seen order. */
export function columnsOf(rows) {
  const seen = new Set();
  for (const row of rows) for (const key of Object.keys(row ?? {})) seen.add(key);
  return [...seen];
}

/** <thead>+<tbody> for `rows`; a row is an array (by position) or an object (by column name).
 * No rows: one row saying `empty`, so an empty table reads as empty, not as broken. */
export function tableParts(columns, rows, { cell = null, empty = "Nothing to show." } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, name))));
  if (!rows.length) {
    return [head, h("tbody", {}, h("tr", {}, h("td", { colspan: Math.max(1, columns.length), class: "empty" }, empty)))];
  }
  const body = h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((name, i) => {
    const value = Array.isArray(row) ? row[i] : row?.[name];
    const custom = cell?.(name, value, row);
    const text = custom ?? cellText(value);
    const title = typeof text === "string" && text.length > 40 ? text : null;
    if (custom == null && typeof value === "string" && ISO_TIME.test(value)) {
      return h("td", {}, h("time", { datetime: value }, text));  // kept on one line by the CSS
    }
    return h("td", { title }, text);
  }))));
  return [head, body];
}
