// Rendering the console's screens from hostile API data: text stays text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { install } from "./fakedom.mjs";

install();
const WEB = "../../src/vigil/console/web/static/js";
const { h, safeUrl, can } = await import(`${WEB}/dom.js`);
const { incidentRow, matches, ordered, queryOf } = await import(`${WEB}/pages/queue.js`);
const { headParts, evidenceBlocks, videoTiles, timelineItems } = await import(`${WEB}/pages/incident.js`);
const { approvalCard, byUrgency } = await import(`${WEB}/pages/approvals.js`);
const { storeRow, storeTile, byRegion, tileText } = await import(`${WEB}/pages/estate.js`);

const EVIL = '<script>alert("x")</script>';

function incident(overrides = {}) {
  return {
    uid: "inc-1", title: EVIL, status: "new", risk: 82.5, risk_level: "critical", use_case: "till_fraud",
    stores: ["s-001"], alerts: 3, opened_at: "2025-03-01T10:00:00Z", updated_at: "2025-03-01T10:05:00Z",
    assignee: null, verdict: null, ...overrides,
  };
}

test("a title with <script> becomes text, never an element", () => {
  const row = incidentRow(incident());
  assert.ok(!row.descendants().some((el) => el.tagName === "script"));
  assert.ok(row.textContent.includes(EVIL));
  assert.ok(row.outerHTML.includes("&lt;script&gt;alert"));
  assert.ok(!row.outerHTML.includes("<script>"));
});

test("h() refuses javascript: URLs and keeps same-origin paths", () => {
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl("//evil.example/x"), null);
  assert.equal(safeUrl("/snapshots/a.jpg"), "/snapshots/a.jpg");
  const link = h("a", { href: "javascript:alert(1)" }, "x");
  assert.equal(link.getAttribute("href"), null);
});

test("an incident uid with a slash cannot change the link's route", () => {
  const row = incidentRow(incident({ uid: "../api/x" }));
  const link = row.descendants().find((el) => el.tagName === "a");
  assert.equal(link.getAttribute("href"), "/incidents/..%2Fapi%2Fx");
});

test("incident parts keep hostile text as text", () => {
  const nodes = [
    ...headParts(incident({ stores: [EVIL] })),
    ...timelineItems([{ time: "2025-03-01T10:00:00Z", kind: "alert", source: EVIL, summary: EVIL }]),
    ...evidenceBlocks([{ alert_uid: EVIL, rows: [{ [EVIL]: EVIL }] }]),
    ...videoTiles([{ camera: EVIL, time: "2025-03-01T10:00:00Z", snapshot_uri: "javascript:alert(1)" }]),
  ];
  for (const node of nodes) {
    assert.ok(!node.descendants().some((el) => el.tagName === "script"));
    assert.ok(!node.outerHTML.includes("<script>"));
    const links = node.descendants().flatMap((el) => [el.getAttribute("href"), el.getAttribute("src")]);
    assert.ok(links.every((url) => url === null || !url.includes("javascript:")));
  }
  assert.ok(nodes.some((node) => node.textContent.includes(EVIL)));
});

test("video tiles show the console's snapshot as a thumbnail, never another site's", () => {
  const [served, foreign, kept] = videoTiles([
    { camera: "s031-cam-04", time: "2025-03-01T10:00:00Z", activity: "Loitering", zone: "checkout",
      snapshot_uri: "file:///var/lib/vigil/snapshots/s031-cam-04/2025-03-01/100000000-loitering-1.jpg",
      snapshot_url: "/api/stores/031/snapshots/s031-cam-04/2025-03-01/100000000-loitering-1.jpg" },
    { camera: "c", time: "2025-03-01T10:00:00Z", snapshot_url: "https://evil.example/x.jpg" },
    { camera: "c", time: "2025-03-01T10:00:00Z", snapshot_uri: "file:///snap/c.jpg", snapshot_url: null },
  ]);
  const image = (node) => node.descendants().find((el) => el.tagName === "img");
  assert.equal(image(served).getAttribute("src"), "/api/stores/031/snapshots/s031-cam-04/2025-03-01/100000000-loitering-1.jpg");
  assert.ok(served.textContent.includes("Loitering · checkout"));
  assert.equal(image(foreign), undefined);
  assert.equal(image(kept), undefined);
  assert.ok(kept.textContent.includes("Snapshot kept at the store: file:///snap/c.jpg"));
});

test("approval cards: the requester sees no buttons, another approver does", () => {
  const item = {
    uid: "ap-1", incident_uid: "inc-1", run_uid: "r-1", step: "block", action: "block_ip", risk: "high",
    why: EVIL, requested_by: "ann", requested_at: "2025-03-01T10:00:00Z", expires_at: "2025-03-01T12:00:00Z",
    stores: ["s-001"], status: "pending",
  };
  const own = approvalCard(item, { own: true });
  assert.equal(own.descendants().filter((el) => el.tagName === "button").length, 0);
  const other = approvalCard(item, { own: false });
  const verbs = other.descendants().filter((el) => el.tagName === "button").map((b) => b.dataset.verb);
  assert.deepEqual(verbs, ["approve", "reject"]);
  assert.ok(!other.outerHTML.includes("<script>"));
  assert.ok(other.textContent.includes("High risk"));
});

test("approvals: soonest to expire first, then riskiest", () => {
  const list = byUrgency([
    { uid: "a", expires_at: "2025-03-02T00:00:00Z", risk: "critical" },
    { uid: "b", expires_at: "2025-03-01T00:00:00Z", risk: "low" },
    { uid: "c", expires_at: "2025-03-01T00:00:00Z", risk: "high" },
  ]);
  assert.deepEqual(list.map((a) => a.uid), ["c", "b", "a"]);
});

test("queue: the default filter hides closed incidents; 'all' shows them", () => {
  const closed = incident({ status: "closed" });
  assert.equal(matches(closed, { status: "", minRisk: "", store: "", q: "" }), false);
  assert.equal(matches(closed, { status: "all", minRisk: "", store: "", q: "" }), true);
  assert.equal(matches(incident({ risk: 10 }), { status: "", minRisk: "50", store: "", q: "" }), false);
  assert.equal(matches(incident(), { status: "", minRisk: "", store: "s-002", q: "" }), false);
  assert.equal(matches(incident(), { status: "", minRisk: "", store: "", q: "TILL" }), true);
  assert.equal(queryOf({ status: "new", minRisk: "40", store: "", q: "a b" }),
    "/api/incidents?status=new&min_risk=40&q=a+b&limit=50");
  assert.equal(queryOf({ status: "", minRisk: "", store: "s-1", q: "" }, "c2"),
    "/api/incidents?status=new%2Cacknowledged%2Ccontained%2Creopened&store=s-1&limit=50&cursor=c2");
  assert.equal(queryOf({ status: "all", minRisk: "", store: "", q: "" }), "/api/incidents?limit=50");
});

test("queue order: risk first, then the latest update, then the id", () => {
  const list = ordered([
    incident({ uid: "a", risk: 10 }),
    incident({ uid: "b", risk: 90, updated_at: "2025-03-01T10:00:00Z" }),
    incident({ uid: "c", risk: 90, updated_at: "2025-03-01T11:00:00Z" }),
  ]);
  assert.deepEqual(list.map((i) => i.uid), ["c", "b", "a"]);
});

test("store rows escape the store's name", () => {
  const row = storeRow({
    uid: "s-1", name: EVIL, region: "north", open: true, incidents_open: 2, risk_max: 61,
    health: { status: "silent", last_event_at: null, events_last_hour: 0 },
  }, 3);
  assert.ok(!row.outerHTML.includes("<script>"));
  assert.ok(row.textContent.includes("Silent"));
  assert.ok(row.textContent.includes("High"));
  assert.equal(row.style.cssText, "top:120px");
});

test("roles are cumulative", () => {
  assert.equal(can({ roles: ["admin"] }, "approver"), true);
  assert.equal(can({ roles: ["analyst"] }, "approver"), false);
  assert.equal(can({ roles: ["viewer"] }, "nonsense"), false);
});

test("estate tiles: one link per store, grouped by region, saying in words what the colours say", () => {
  const stores = [
    { uid: "b/1", name: EVIL, region: "west", health: { status: "silent" }, incidents_open: 2, risk_max: 81 },
    { uid: "a1", name: "Alpha", region: "east", health: { status: "ok" }, incidents_open: 0, risk_max: 0 },
    { uid: "c1", name: "Gamma", region: "west", health: {}, incidents_open: 1, risk_max: 40 },
  ];
  assert.deepEqual(byRegion(stores).map(([region, group]) => [region, group.map((s) => s.uid)]),
    [["east", ["a1"]], ["west", ["b/1", "c1"]]]);
  const tile = storeTile(stores[0]);
  assert.equal(tile.getAttribute("href"), "/stores/b%2F1");
  assert.equal(tile.getAttribute("class"), "tile tile-critical tile-health-silent");
  assert.ok(tile.getAttribute("title").includes("telemetry silent · 2 open incidents, Critical risk 81"));
  assert.ok(!tile.outerHTML.includes("<script>"));
  assert.equal(storeTile(stores[1]).getAttribute("class"), "tile tile-none tile-health-ok");
  assert.ok(tileText(stores[1]).endsWith("telemetry ok · no open incidents"));
  assert.equal(storeTile(stores[2]).getAttribute("class"), "tile tile-medium tile-health-unknown");
});

test("dead letters keep hostile sources, reasons and raw records as text", async () => {
  const { letterParts, rawCell, sourceOptions } = await import(`${WEB}/pages/health.js`);
  const letter = {
    id: 7, at: "2026-11-21T04:02:00Z", source: `mqtt:${EVIL}`, position: "line 5",
    reason: `zeek_conn: ${EVIL}`, raw: `card 4111 11** **** 1111 ${EVIL}`,
  };
  const [head, body] = letterParts([letter]);
  assert.deepEqual(head.descendants().filter((el) => el.tagName === "th").map((el) => el.textContent),
    ["Kept", "Source", "Position", "Reason", "Raw record"]);
  const cells = body.descendants().filter((el) => el.tagName === "td");
  assert.equal(cells.length, 5);
  assert.equal(cells[1].textContent, letter.source);
  assert.deepEqual(cells.slice(2).map((cell) => cell.textContent), ["line 5", letter.reason, letter.raw]);
  assert.ok(!body.descendants().some((el) => el.tagName === "script"));
  assert.ok(!body.outerHTML.includes("<script>"));
  const long = rawCell("x".repeat(500) + EVIL);
  assert.equal(long.tagName, "details");
  assert.equal(long.children[0].textContent, `${"x".repeat(160)}…`);
  assert.equal(long.children[1].textContent, "x".repeat(500) + EVIL);
  const [, empty] = letterParts([], "No dead letters from this source.");
  assert.equal(empty.textContent, "No dead letters from this source.");
  const options = sourceOptions({ "http:ids": 2, "detect:network_activity": 9 }, "mqtt:gone");
  assert.deepEqual(options.map((o) => [o.getAttribute("value"), o.textContent, o.hasAttribute("selected")]), [
    ["", "All sources", false],
    ["detect:network_activity", "detect:network_activity (9)", false],
    ["http:ids", "http:ids (2)", false],
    ["mqtt:gone", "mqtt:gone (0)", true],
  ]);
});
