// The incident page: what happened and why it matters, across every source, and the
// decisions on it (verdict, assignee, playbooks, approvals, comments).

import { get, post, seg } from "../api.js";
import { levelBadge, riskBadge, severityBadge, statusBadge } from "../badges.js";
import { byId, can, currentUser, fill, h, notify, safeUrl } from "../dom.js";
import { drawGraph } from "../graph.js";
import { ago, number, time, words } from "../format.js";
import { ask } from "../prompt.js";
import { columnsOf, tableParts } from "../tables.js";

const uid = () => document.body.dataset.incident;
const base = () => `/api/incidents/${seg(uid())}`;

export function headParts(incident) {
  return [
    h("dl", { class: "facts" },
      h("dt", {}, "Risk"), h("dd", {}, riskBadge(incident.risk, incident.risk_level)),
      h("dt", {}, "Status"), h("dd", {}, statusBadge(incident.status)),
      h("dt", {}, "Use case"), h("dd", {}, words(incident.use_case)),
      h("dt", {}, "Stores"), h("dd", {}, (incident.stores ?? []).map((store, i) => [i ? ", " : "",
        h("a", { href: `/stores/${encodeURIComponent(store)}` }, store)])),
      h("dt", {}, "Assignee"), h("dd", {}, incident.assignee ?? "Unassigned"),
      h("dt", {}, "Verdict"), h("dd", {}, incident.verdict ? words(incident.verdict) : "None yet"),
      h("dt", {}, "Opened"), h("dd", { title: time(incident.opened_at) }, ago(incident.opened_at)),
      h("dt", {}, "Updated"), h("dd", { title: time(incident.updated_at) }, ago(incident.updated_at))),
  ];
}

export function riskTable(parts) {
  return tableParts(["Part", "Value", "Why"], parts ?? [], {
    cell: (name, _value, row) => (name === "Part" ? words(row.name) : name === "Value" ? number(row.value, 2)
      : row.reason),
  });
}

export function timelineItems(entries) {
  return (entries ?? []).map((entry) => h("li", {},
    h("time", { datetime: entry.time }, time(entry.time)),
    h("span", { class: "tag" }, entry.source), h("span", { class: "tag muted" }, words(entry.kind)),
    h("span", { class: "what" }, entry.summary)));
}

/** The incident's alerts: the rule goes under the alert's title so the "why" has room. */
export function alertsTable(alerts) {
  return tableParts(["Time", "Severity", "Alert", "Why"], alerts ?? [], {
    cell: (name, _v, a) => ({
      Time: h("time", { datetime: a.time }, time(a.time)),
      Severity: severityBadge(a.severity),
      Alert: [h("div", {}, a.title), h("div", { class: "muted small break" }, a.rule_uid)],
      Why: a.explanation,
    })[name],
  });
}

export function evidenceBlocks(evidence) {
  const blocks = (evidence ?? []).filter((item) => (item.rows ?? []).length);
  if (!blocks.length) return [h("p", { class: "muted" }, "No evidence rows.")];
  return blocks.map((item) => h("details", { open: true },
    h("summary", {}, `Alert ${item.alert_uid} · ${item.rows.length} row${item.rows.length === 1 ? "" : "s"}`),
    h("div", { class: "scroll-x" }, h("table", { class: "data compact" }, tableParts(columnsOf(item.rows), item.rows)))));
}

/** Video observations of the incident's stores and hours: the blurred snapshot (served by the
 * console's API, in the reader's scope) as a thumbnail, else where the store keeps it. */
export function videoTiles(video) {
  if (!(video ?? []).length) return [h("p", { class: "muted" }, "No video observations of its stores in its hours.")];
  return video.map((clip) => {
    const src = clip.snapshot_url && clip.snapshot_url.startsWith("/api/") ? safeUrl(clip.snapshot_url) : null;
    const film = safeUrl(clip.clip_uri);
    const what = [clip.activity, clip.zone].filter(Boolean).join(" · ");
    const caption = `${clip.camera} · ${time(clip.time)}`;
    return h("figure", { class: "snapshot", dataset: { camera: clip.camera } },
      src ? h("a", { href: src, target: "_blank", rel: "noopener" },
        h("img", { src, alt: `Snapshot from ${caption}`, loading: "lazy", width: 320, height: 240 }))
        : h("div", { class: "no-image" }, clip.snapshot_uri ? `Snapshot kept at the store: ${clip.snapshot_uri}` : "No snapshot"),
      h("figcaption", {}, what ? h("b", {}, what) : null, what ? " " : null, caption,
        film ? [" · ", h("a", { href: film, target: "_blank", rel: "noopener" }, "Play clip")]
          : clip.clip_uri ? ` · clip kept at the store: ${clip.clip_uri}` : null));
  });
}

export function stepsList(steps) {
  return h("ol", { class: "steps" }, (steps ?? []).map((step) => h("li", {},
    h("span", { class: `badge step step-${String(step.status ?? step.outcome ?? "").replace(/[^a-z_]/g, "")}` },
      words(step.status ?? step.outcome ?? "planned")),
    " ", h("b", {}, step.title ?? step.action ?? step.id ?? step.step_id),
    step.detail ? h("div", { class: "muted small" }, step.detail) : null,
    step.approval ? h("div", { class: "small" }, `Waits for approval: ${step.approval}`) : null)));
}

export function runBlocks(runs) {
  if (!(runs ?? []).length) return [h("p", { class: "muted" }, "No playbook has run on this incident.")];
  return runs.map((run) => h("div", { class: "run" },
    h("div", {}, h("b", {}, run.playbook), " ", statusBadge(run.status)), stepsList(run.steps)));
}

export function planBlocks(plans) {
  if (!(plans ?? []).length) return [h("p", { class: "muted" }, "No playbook applies to this incident now.")];
  return plans.map((plan) => h("div", { class: "run" },
    h("div", {}, h("b", {}, plan.title || plan.playbook), h("span", { class: "muted small" }, ` ${plan.playbook}`)),
    plan.mode ? h("div", { class: "muted small" }, `Mode ${plan.mode}`) : null,
    stepsList(plan.steps)));
}

function approvalBlocks(approvals, user) {
  if (!(approvals ?? []).length) return [h("p", { class: "muted" }, "No approvals asked.")];
  return approvals.map((item) => h("div", { class: "approval-mini" },
    h("div", {}, h("b", {}, words(item.action)), " ", statusBadge(item.status), " ", levelBadge(item.risk)),
    h("div", { class: "small" }, item.why),
    h("div", { class: "muted small" }, `Asked by ${item.requested_by} ${ago(item.requested_at)}`),
    item.status === "pending" && can(user, "approver") && item.requested_by !== user.username
      ? h("div", { class: "buttons" },
        h("button", { type: "button", class: "approve", onclick: () => decide(item, "approve") }, "Approve"),
        h("button", { type: "button", class: "reject", onclick: () => decide(item, "reject") }, "Reject"))
      : null));
}

function commentItems(comments) {
  return (comments ?? []).map((c) => h("li", {},
    h("div", { class: "muted small" }, `${c.author} · ${time(c.at)}`), h("p", { class: "prose" }, c.text)));
}

function show(incident) {
  const user = currentUser();
  byId("page-title").textContent = incident.title;
  document.title = `${incident.title} · Vigil`;
  fill(byId("incident-head"), headParts(incident));
  byId("incident-explanation").textContent = incident.explanation || "No explanation.";
  fill(byId("incident-risk"), riskTable(incident.risk_parts));
  fill(byId("incident-timeline"), timelineItems(incident.timeline));
  fill(byId("incident-graph"), (incident.graph?.nodes ?? []).length ? drawGraph(incident.graph)
    : h("p", { class: "muted" }, "No entities."));
  fill(byId("incident-entities"), tableParts(["kind", "value", "role"], incident.entities ?? []));
  fill(byId("incident-alerts"), alertsTable(incident.alerts));
  fill(byId("incident-evidence"), evidenceBlocks(incident.evidence));
  fill(byId("incident-video"), videoTiles(incident.video));
  fill(byId("incident-runs"), runBlocks(incident.runs));
  fill(byId("incident-approvals"), approvalBlocks(incident.approvals, user));
  fill(byId("incident-comments"), commentItems(incident.comments));
  for (const button of document.querySelectorAll("[data-verdict]")) {
    button.setAttribute("aria-pressed", String(button.dataset.verdict === incident.verdict));
  }
}

async function load() {
  try {
    show(await get(base()));
  } catch (error) {
    notify(error.status === 404 ? "This incident does not exist or is outside your stores." : `Could not load the incident: ${error.message}`, "error");
  }
}

async function act(label, work) {
  try {
    await work();
    notify(label);
    await load();
  } catch (error) {
    notify(`${label.replace(/\.$/, "")} failed: ${error.message}`, "error");
  }
}

async function decide(approval, verb) {
  const reason = await ask({
    title: verb === "approve" ? "Approve this action?" : "Reject this action?",
    text: `${words(approval.action)}: ${approval.why}`, confirm: verb === "approve" ? "Approve" : "Reject", danger: verb === "reject",
  });
  if (reason === null) return;
  await act(verb === "approve" ? "Approved." : "Rejected.", () => post(`/api/approvals/${seg(approval.uid)}/${verb}`, { reason }));
}

async function verdict(value) {
  const note = await ask({ title: `Verdict: ${words(value)}`, label: "Note (optional)", required: false, confirm: "Save verdict" });
  if (note === null) return;
  await act("Verdict saved.", () => post(`${base()}/verdict`, { verdict: value, note }));
}

async function plan() {
  fill(byId("incident-plans"), h("p", { class: "muted" }, "Asking the playbooks…"));
  try {
    const answer = await post(`${base()}/respond`, { dry_run: true });
    fill(byId("incident-plans"), planBlocks(answer.plans));
  } catch (error) {
    fill(byId("incident-plans"), h("p", { class: "error" }, `Dry run failed: ${error.message}`));
  }
}

async function run() {
  if (!confirm("Run the playbooks on this incident now? Steps that need an approver wait for one.")) return;
  await act("Playbooks started.", () => post(`${base()}/respond`, { dry_run: false }));
}

export function start() {
  const user = currentUser();
  const analyst = can(user, "analyst");
  for (const el of document.querySelectorAll("#incident-actions button, #incident-actions input, #comment-form textarea, #comment-form button")) {
    el.disabled = !analyst;
  }
  if (!analyst) byId("incident-actions").title = "Your role can read incidents but not change them.";
  for (const button of document.querySelectorAll("[data-verdict]")) {
    button.addEventListener("click", () => verdict(button.dataset.verdict));
  }
  byId("assign-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const assignee = byId("assign-input").value.trim();
    if (assignee) act(`Assigned to ${assignee}.`, () => post(`${base()}/assign`, { assignee }));
  });
  byId("assign-me").addEventListener("click", () => act("Assigned to you.", () => post(`${base()}/assign`, { assignee: user.username })));
  byId("plan-button").addEventListener("click", plan);
  byId("run-button").addEventListener("click", run);
  byId("comment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = byId("comment-text").value.trim();
    if (!text) return;
    act("Comment added.", async () => { await post(`${base()}/comments`, { text }); byId("comment-text").value = ""; });
  });
  load();
  const source = new EventSource("/api/incidents/stream");
  source.addEventListener("incident", (event) => {
    try { if (JSON.parse(event.data).uid === uid()) load(); } catch { /* a malformed event changes nothing */ }
  });
}
