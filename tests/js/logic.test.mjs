// The screens' pure logic: the 2,000-store grid, the graph layout, charts, hunt,
// detections, store view and health helpers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { install } from "./fakedom.mjs";

install();
const WEB = "../../src/vigil/console/web/static/js";
const estate = await import(`${WEB}/pages/estate.js`);
const { layout, drawGraph } = await import(`${WEB}/graph.js`);
const { histogram, lines, bucket } = await import(`${WEB}/chart.js`);
const hunt = await import(`${WEB}/pages/hunt.js`);
const detections = await import(`${WEB}/pages/detections.js`);
const store = await import(`${WEB}/pages/store.js`);
const health = await import(`${WEB}/pages/health.js`);
const { nextPath } = await import(`${WEB}/pages/login.js`);
const { detailOf, withQuery } = await import(`${WEB}/api.js`);
const { ago, levelOf, words } = await import(`${WEB}/format.js`);

/** 2,000 stores in 8 regions with a seeded spread of health and risk. */
function estateOf(count) {
  const statuses = ["ok", "ok", "ok", "degraded", "silent", "unknown"];
  let seed = 7;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  return Array.from({ length: count }, (_, i) => ({
    uid: `s-${String(i).padStart(4, "0")}`, name: `Store ${i}`, region: `region-${i % 8}`, open: i % 3 !== 0,
    health: { status: statuses[i % statuses.length], last_event_at: null, events_last_hour: i },
    incidents_open: Math.floor(rand() * 5), risk_max: Math.round(rand() * 1000) / 10,
  }));
}

test("2,000 stores: filters, sorting and the drawn window", () => {
  const stores = estateOf(2000);
  const north = estate.filterStores(stores, { region: "region-3" });
  assert.equal(north.length, 250);
  assert.ok(north.every((s) => s.region === "region-3"));
  const silent = estate.filterStores(stores, { health: "silent", q: "store 1" });
  assert.ok(silent.length > 0 && silent.every((s) => s.health.status === "silent" && s.name.startsWith("Store 1")));
  const sorted = estate.sortStores(stores, "risk");
  for (let i = 1; i < sorted.length; i += 1) assert.ok(sorted[i - 1].risk_max >= sorted[i].risk_max);
  const byHealth = estate.sortStores(stores, "health");
  assert.equal(byHealth[0].health.status, "silent");
  // Only the rows in view plus the overscan are drawn, wherever the list is scrolled.
  const top = estate.visibleRange(0, 600, 2000);
  assert.deepEqual(top, { first: 0, last: 23 });
  const middle = estate.visibleRange(40000, 600, 2000);
  assert.deepEqual(middle, { first: 992, last: 1023 });
  const end = estate.visibleRange(2000 * 40, 600, 2000);
  assert.equal(end.last, 2000);
  assert.ok(end.last - end.first <= 31);
  const rows = sorted.slice(middle.first, middle.last).map((s, i) => estate.storeRow(s, middle.first + i));
  assert.equal(rows.length, 31);
  assert.equal(rows[0].style.cssText, `top:${992 * estate.ROW_HEIGHT}px`);
  const counts = estate.healthCounts(stores);
  assert.equal(counts.ok + counts.degraded + counts.silent + counts.unknown, 2000);
});

test("graph layout is deterministic and stays inside the picture", () => {
  const nodes = Array.from({ length: 12 }, (_, i) => ({ id: `n${i}`, kind: i % 2 ? "ip" : "user", label: `node ${i}` }));
  const edges = nodes.slice(1).map((n, i) => ({ source: "n0", target: n.id, label: `e${i}` }));
  const a = layout(nodes, edges, 640, 360);
  const b = layout(nodes, edges, 640, 360);
  assert.deepEqual(a, b);
  for (const p of Object.values(a)) {
    assert.ok(p.x >= 40 && p.x <= 600 && p.y >= 40 && p.y <= 320);
  }
  const svg = drawGraph({ nodes, edges: [...edges, { source: "n0", target: "missing", label: "x" }] });
  assert.equal(svg.descendants().filter((el) => el.tagName === "circle").length, 12);
  assert.equal(svg.descendants().filter((el) => el.tagName === "line").length, 11);
  assert.match(svg.getAttribute("aria-label"), /12 entities/);
});

test("charts: bars per interval, lines per series, and a 'no data' note", () => {
  const bars = histogram([{ t: "2025-03-01T10:00:00Z", n: 3 }, { t: "2025-03-01T11:00:00Z", n: 7 }]);
  assert.equal(bars.descendants().filter((el) => el.tagName === "rect").length, 2);
  assert.match(bars.getAttribute("aria-label"), /10 in 2 intervals/);
  assert.ok(histogram([]).textContent.includes("No data"));
  const chart = lines([{ name: "In", points: [{ t: "2025-03-01T10:00:00Z", v: 1 }, { t: "2025-03-01T11:00:00Z", v: 4 }] },
    { name: "Out", points: [{ t: "2025-03-01T10:00:00Z", v: 2 }] }]);
  assert.equal(chart.descendants().filter((el) => el.tagName === "path").length, 2);
  const counts = bucket(["2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z", "2025-03-01T12:00:00Z", "not a time"], 2);
  assert.deepEqual(counts.map((c) => c.n), [2, 1]);
});

test("hunt: the request body, saved queries and the time column", () => {
  const body = hunt.searchBody({
    eventClass: "pos_transaction", store: "", since: "", until: "", limit: "50",
    filters: [["cashier", "c-7"], ["  ", "ignored"]],
  });
  assert.deepEqual(body, { event_class: "pos_transaction", filters: { cashier: "c-7" }, limit: 50 });
  const sql = { mode: "sql", sql: "SELECT 1" };
  assert.deepEqual(hunt.encodeSaved(sql), { sql: "SELECT 1" });
  assert.deepEqual(hunt.decodeSaved(hunt.encodeSaved(sql)), sql);
  const search = { eventClass: "door_access", store: "s-1", since: "2025-03-01T10:00", until: "", limit: 20, filters: [["door", "back"]] };
  const stored = hunt.encodeSaved({ mode: "search", search });
  assert.equal(stored.event_class, "door_access");
  assert.deepEqual(hunt.decodeSaved(stored), { mode: "search", search });
  assert.equal(hunt.timeColumn(["store", "time"], [["s", "2025-03-01T10:00:00Z"]]), 1);
  assert.equal(hunt.timeColumn(["store", "amount"], [["s", 3]]), -1);
});

test("detections: filters, the gutter and a lint line's span", () => {
  const rules = [
    { uid: "r1", title: "Till voids", kind: "threshold", enabled: true, use_case: "till_fraud", attack: [], pci: ["10.2"] },
    { uid: "r2", title: "Port scan", kind: "sigma", enabled: false, use_case: "network", attack: ["T1046"], pci: [] },
  ];
  assert.deepEqual(detections.filterRules(rules, { q: "t1046" }).map((r) => r.uid), ["r2"]);
  assert.deepEqual(detections.filterRules(rules, { enabled: "on" }).map((r) => r.uid), ["r1"]);
  assert.deepEqual(detections.filterRules(rules, { kind: "sigma" }).map((r) => r.uid), ["r2"]);
  assert.equal(detections.gutterText("a\nb\nc"), "1\n2\n3");
  assert.deepEqual(detections.lineSpan("ab\ncde\nf", 2), [3, 6]);
  assert.deepEqual(detections.lineSpan("ab", 9), [0, 2]);
});

test("store view: heat colours get darker, cashiers by total, queues by camera", () => {
  const light = store.heatColour(0, 10);
  const dark = store.heatColour(10, 10);
  const sum = (rgb) => rgb.match(/\d+/g).map(Number).reduce((a, b) => a + b, 0);
  assert.ok(sum(light) > sum(store.heatColour(5, 10)) && sum(store.heatColour(5, 10)) > sum(dark));
  assert.equal(store.heatColour(3, 0), light);
  const cashiers = store.cashierTotals([
    { cashier: "a", voids: 1, refunds: 0, no_sales: 0, discounts: 0 },
    { cashier: "b", voids: 2, refunds: 3, no_sales: 1, discounts: 0 },
  ]);
  assert.deepEqual(cashiers.map((c) => [c.cashier, c.total]), [["b", 6], ["a", 1]]);
  const queues = store.queueSummary([
    { t: "2025-03-01T10:00:00Z", camera: "cam-2", length: 4, wait_s: 30 },
    { t: "2025-03-01T10:05:00Z", camera: "cam-2", length: 1, wait_s: 90 },
    { t: "2025-03-01T10:00:00Z", camera: "cam-1", length: 2, wait_s: 10 },
  ]);
  assert.deepEqual(queues.map((q) => [q.camera, q.latest, q.worst]), [["cam-1", 2, 10], ["cam-2", 1, 90]]);
});

test("store view: the heat map paints one rectangle per cell", () => {
  const calls = [];
  const canvas = { width: 40, height: 20, getContext: () => ({
    clearRect() {}, set fillStyle(v) { calls.push(v); }, fillRect(x, y, w, hgt) { calls.push([x, y, w, hgt]); },
  }) };
  const max = store.drawHeatmap(canvas, { camera: "c", width: 4, height: 2, grid: [[0, 1, 2, 3], [4, 5, 6, 8]] });
  assert.equal(max, 8);
  assert.equal(calls.filter(Array.isArray).length, 8);
  assert.deepEqual(calls.filter(Array.isArray).at(-1), [30, 10, 10, 10]);
});

test("health: rates between readings and lag states", () => {
  const r = health.rates([{ source: "pos", events: 100 }], [{ source: "pos", events: 160 }, { source: "new", events: 5 }], 10);
  assert.deepEqual(r, { pos: 6, new: null });
  assert.equal(health.lagState(5), "ok");
  assert.equal(health.lagState(120), "lagging");
  assert.equal(health.lagState(null), "stale");
});

test("health names sources by their file, not their full path", () => {
  assert.equal(health.sourceName("file:/srv/vigil/incoming/pos-031.ndjson"), "pos-031.ndjson · file");
  assert.equal(health.sourceName("tail:/var/log/door.log"), "door.log · tail");
  assert.equal(health.sourceName("file:C:\\feeds\\tills.csv"), "tills.csv · file");
  assert.equal(health.sourceName("http:pos-gateway"), "http:pos-gateway");
});

test("sign-in only returns to paths on this site", () => {
  assert.equal(nextPath("/queue?store=s-1"), "/queue?store=s-1");
  assert.equal(nextPath("https://evil.example/"), "/");
  assert.equal(nextPath("//evil.example/"), "/");
  assert.equal(nextPath("/\\evil.example"), "/");
  assert.equal(nextPath(undefined), "/");
});

test("API helpers: errors in words, queries without empty values", () => {
  assert.equal(detailOf(403, { detail: "you asked for this action" }), "you asked for this action");
  assert.equal(detailOf(422, { detail: [{ loc: ["body", "reason"], msg: "Field required" }] }), "reason: Field required");
  assert.equal(detailOf(500, null), "request failed (HTTP 500)");
  assert.equal(withQuery("/api/stores", { region: "", q: "x y" }), "/api/stores?q=x+y");
});

test("formatting: relative times and risk levels", () => {
  const now = Date.parse("2025-03-01T10:10:00Z");
  assert.equal(ago("2025-03-01T10:07:00Z", now), "3 min ago");
  assert.equal(ago("2025-03-01T12:10:00Z", now), "in 2 h");
  assert.equal(ago(null, now), "never");
  assert.deepEqual([10, 40, 60, 90].map(levelOf), ["low", "medium", "high", "critical"]);
});

test("labels: use cases and other API names read as people write them", () => {
  assert.equal(words("pos_malware"), "POS malware");
  assert.equal(words("iot_botnet"), "IoT botnet");
  assert.equal(words("ddos"), "DDoS");
  assert.equal(words("guest_wifi_scan"), "Guest Wi-Fi scan");
  assert.equal(words("iot_c2"), "IoT command and control");
  assert.equal(words("true_positive"), "True positive");
  assert.equal(words(""), "");
});

test("chart axes reach at least the largest value", async () => {
  const { ticks } = await import(`${WEB}/chart.js`);
  assert.deepEqual(ticks(88), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(ticks(8), [0, 2, 4, 6, 8]);
  assert.deepEqual(ticks(0), [0]);
  for (const max of [1, 7, 13, 99, 101, 4567]) assert.ok(ticks(max).at(-1) >= max);
});

test("table cells: times read as times, objects as JSON, nothing as a dash", async () => {
  const { cellText } = await import(`${WEB}/tables.js`);
  assert.match(cellText("2025-03-01T10:00:00Z"), /^2025-03-01 \d\d:00:00$/);
  assert.equal(cellText({ a: 1 }), '{"a":1}');
  assert.equal(cellText(null), "–");
  assert.equal(cellText("2025 budget"), "2025 budget");
});

test("an empty table says so in one row across every column", async () => {
  const { tableParts } = await import(`${WEB}/tables.js`);
  const [head, body] = tableParts(["a", "b", "c"], [], { empty: "No events after hours." });
  assert.equal(head.descendants().filter((el) => el.tagName === "th").length, 3);
  const cells = body.descendants().filter((el) => el.tagName === "td");
  assert.equal(cells.length, 1);
  assert.equal(cells[0].getAttribute("colspan"), "3");
  assert.equal(cells[0].textContent, "No events after hours.");
});
