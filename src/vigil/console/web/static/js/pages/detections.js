// Detections: the rule list with enable/disable (admin), a YAML editor with lint that
// points at lines, and backtest results over a past window.

import { get, post, put, seg } from "../api.js";
import { severityBadge } from "../badges.js";
import { byId, can, currentUser, fill, h, notify } from "../dom.js";
import { number, time, words } from "../format.js";
import { tableParts } from "../tables.js";

/** Rules matching a text (title, id, use case, ATT&CK, PCI), a kind and an on/off state. */
export function filterRules(rules, { q = "", kind = "", enabled = "" } = {}) {
  const needle = q.trim().toLowerCase();
  return rules.filter((rule) => (!kind || rule.kind === kind)
    && (!enabled || (enabled === "on") === Boolean(rule.enabled))
    && (!needle || [rule.title, rule.uid, rule.use_case, ...(rule.attack ?? []), ...(rule.pci ?? [])]
      .join(" ").toLowerCase().includes(needle)));
}

/** "1\n2\n3" for the editor's gutter. */
export function gutterText(text) {
  const count = String(text).split("\n").length;
  return Array.from({ length: count }, (_, i) => String(i + 1)).join("\n");
}

/** [start, end) character offsets of 1-based line `line` in `text`, for selecting it. */
export function lineSpan(text, line) {
  const lines = String(text).split("\n");
  const index = Math.min(Math.max(1, line), lines.length) - 1;
  const start = lines.slice(0, index).reduce((sum, l) => sum + l.length + 1, 0);
  return [start, start + lines[index].length];
}

const state = { rules: [], admin: false, editing: null };

function toggle(rule) {
  return h("label", { class: "switch" },
    h("input", { type: "checkbox", checked: Boolean(rule.enabled), disabled: !state.admin, dataset: { uid: rule.uid }, class: "rule-toggle" }),
    h("span", {}, rule.enabled ? "Enabled" : "Disabled"));
}

function render() {
  const filters = { q: byId("det-q").value, kind: byId("det-kind").value, enabled: byId("det-enabled").value };
  const shown = filterRules(state.rules, filters);
  const on = state.rules.filter((rule) => rule.enabled).length;
  byId("det-summary").textContent = `${shown.length} of ${state.rules.length} rules shown · ${on} enabled`;
  fill(byId("det-table"), tableParts(["State", "Rule", "Kind", "Severity", "Use case", "ATT&CK", "PCI DSS", ""], shown, {
    cell: (name, _v, rule) => ({
      State: toggle(rule),
      Rule: [h("b", {}, rule.title), h("div", { class: "muted small break" }, rule.uid),
        rule.origin ? h("div", { class: "muted small break" }, rule.origin) : null],
      Kind: words(rule.kind),
      Severity: severityBadge(rule.severity),
      "Use case": words(rule.use_case),
      "ATT&CK": (rule.attack ?? []).join(", ") || "–",
      "PCI DSS": (rule.pci ?? []).join(", ") || "–",
      "": h("span", { class: "row-buttons" },
        h("button", { type: "button", class: "secondary small", dataset: { backtest: rule.uid } }, "Backtest"),
        state.admin ? h("button", { type: "button", class: "secondary small", dataset: { edit: rule.uid } }, "Edit") : null),
    })[name],
  }));
}

async function load() {
  try {
    state.rules = await get("/api/detections");
    const kinds = [...new Set(state.rules.map((rule) => rule.kind))].sort();
    const select = byId("det-kind");
    const chosen = select.value;
    fill(select, h("option", { value: "" }, "Any"), kinds.map((kind) => h("option", { value: kind }, words(kind))));
    select.value = kinds.includes(chosen) ? chosen : "";
    render();
  } catch (error) {
    byId("det-summary").textContent = `Could not load detections: ${error.message}`;
  }
}

async function setEnabled(uid, enabled) {
  try {
    await post(`/api/detections/${seg(uid)}/enabled`, { enabled });
    const rule = state.rules.find((entry) => entry.uid === uid);
    if (rule) rule.enabled = enabled;
    notify(`${enabled ? "Enabled" : "Disabled"} ${uid}; the live engine picks this up when it restarts.`);
  } catch (error) {
    notify(`Could not change ${uid}: ${error.message}`, "error");
  }
  render();
}

async function backtest(uid) {
  const since = byId("det-bt-since").value;
  byId("det-bt-rule").textContent = uid;
  fill(byId("det-bt-result"), h("p", { class: "muted" }, `Running ${uid} over the last ${since}…`));
  try {
    const answer = await post(`/api/detections/${seg(uid)}/backtest`, { since });
    const alerts = answer.alerts ?? [];
    fill(byId("det-bt-result"),
      h("p", {}, h("b", {}, number(answer.count)), ` alert${answer.count === 1 ? "" : "s"} in your stores over the last ${since}`,
        answer.events === undefined ? "." : `, from ${number(answer.events)} events replayed.`),
      alerts.length ? h("div", { class: "scroll-x" }, h("table", { class: "data compact" },
        tableParts(["time", "severity", "store", "title", "explanation"], alerts, {
          cell: (name, value) => (name === "time" ? time(value) : name === "severity" ? severityBadge(value) : null),
        }))) : null,
      alerts.length < answer.count ? h("p", { class: "muted small" }, `Showing the first ${alerts.length}.`) : null);
  } catch (error) {
    fill(byId("det-bt-result"), h("p", { class: "error" }, `Backtest failed: ${error.message}`));
  }
}

async function lint() {
  const editor = byId("det-yaml");
  try {
    const answer = await post("/api/detections/lint", { yaml: editor.value });
    const problems = answer.problems ?? [];
    fill(byId("det-problems"), problems.length ? problems.map((problem) => h("li", { class: "problem" },
      h("button", { type: "button", class: "link", dataset: { line: problem.line ?? 1 } }, `Line ${problem.line ?? "?"}`),
      `: ${problem.message}`)) : h("li", { class: "ok" }, "No problems found."));
  } catch (error) {
    fill(byId("det-problems"), h("li", { class: "error" }, `Lint failed: ${error.message}`));
  }
}

function editing(uid) {
  state.editing = uid;
  byId("det-editing").textContent = uid ? `Replacing rule ${uid}: paste its edited YAML, lint, then save.` : "";
  byId("det-save").hidden = !uid;
  byId("det-cancel-edit").hidden = !uid;
  if (uid) byId("det-yaml").focus();
}

async function save() {
  const uid = state.editing;
  if (!uid) return;
  try {
    const rule = await put(`/api/detections/${seg(uid)}`, { yaml: byId("det-yaml").value });
    notify(`Saved ${rule.uid}; the live engine picks it up when it restarts.`);
    editing(null);
    load();
  } catch (error) {
    notify(`Could not save ${uid}: ${error.message}`, "error");
    lint();
  }
}

export function start() {
  state.admin = can(currentUser(), "admin");
  const editor = byId("det-yaml");
  const gutter = byId("det-gutter");
  const sync = () => { gutter.textContent = gutterText(editor.value); gutter.scrollTop = editor.scrollTop; };
  editor.addEventListener("input", sync);
  editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; });
  sync();
  byId("det-lint").addEventListener("click", lint);
  byId("det-problems").addEventListener("click", (event) => {
    const line = event.target.dataset?.line;
    if (!line) return;
    const [start, end] = lineSpan(editor.value, Number(line));
    editor.focus();
    editor.setSelectionRange(start, end);
  });
  byId("det-table").addEventListener("change", (event) => {
    if (event.target.classList?.contains("rule-toggle")) setEnabled(event.target.dataset.uid, event.target.checked);
  });
  byId("det-table").addEventListener("click", (event) => {
    const { backtest: tested, edit } = event.target.dataset ?? {};
    if (tested) backtest(tested);
    if (edit) editing(edit);
  });
  byId("det-save").addEventListener("click", save);
  byId("det-cancel-edit").addEventListener("click", () => editing(null));
  for (const id of ["det-q", "det-kind", "det-enabled"]) byId(id).addEventListener("input", render);
  load();
}
