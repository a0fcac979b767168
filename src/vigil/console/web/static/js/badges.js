// Labels that carry their meaning in text as well as colour.

import { h } from "./dom.js";
import { levelLabel, levelOf, number, words } from "./format.js";

const HEALTH = { ok: "OK", degraded: "Degraded", silent: "Silent", unknown: "Unknown" };

export function riskBadge(risk, level) {
  const name = level || levelOf(risk);
  return h("span", { class: `badge risk-${name}`, title: `Risk ${number(risk, 1)} of 100` },
    h("b", {}, number(risk, 0)), " ", levelLabel(name));
}

export function severityBadge(severity) {
  const name = String(severity ?? "unknown").toLowerCase();
  return h("span", { class: `badge risk-${name}` }, words(name));
}

export function healthBadge(status) {
  const name = status in HEALTH ? status : "unknown";
  return h("span", { class: `badge health-${name}` }, HEALTH[name]);
}

export function statusBadge(status) {
  return h("span", { class: `badge status status-${String(status ?? "").replace(/[^a-z_]/g, "")}` }, words(status));
}

/** A small bar with its number: relative size at a glance, exact value in text. */
export function bar(value, max, label) {
  const width = max > 0 ? Math.max(0, Math.min(100, (Number(value) / max) * 100)) : 0;
  return h("span", { class: "bar", title: label ?? "" },
    h("span", { class: "bar-fill", style: `width:${width.toFixed(1)}%` }),
    h("span", { class: "bar-text" }, label ?? number(value)));
}

/** A risk level without a score (an approval's action risk). */
export function levelBadge(level) {
  const name = ["low", "medium", "high", "critical"].includes(level) ? level : "unknown";
  return h("span", { class: `badge risk-${name}` }, `${levelLabel(name)} risk`);
}
