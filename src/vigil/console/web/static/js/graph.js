// The incident's entity graph as a small SVG: a deterministic force layout (same
// graph, same picture), nodes coloured by kind *and* labelled, edges labelled.

import { s } from "./dom.js";

/** Positions {id: {x, y}} inside width x height, `margin` from the edges. */
export function layout(nodes, edges, width, height, { iterations = 200, margin = 40 } = {}) {
  const count = nodes.length;
  const cx = width / 2;
  const cy = height / 2;
  const radius = Math.min(width, height) / 2 - margin;
  const pos = new Map(nodes.map((node, i) => [node.id, {
    x: cx + radius * Math.cos((2 * Math.PI * i) / Math.max(1, count)),
    y: cy + radius * Math.sin((2 * Math.PI * i) / Math.max(1, count)),
  }]));
  if (count <= 1) {
    for (const p of pos.values()) { p.x = cx; p.y = cy; }
    return Object.fromEntries(pos);
  }
  const k = Math.sqrt(((width - 2 * margin) * (height - 2 * margin)) / count);
  const links = edges.filter((e) => pos.has(e.source) && pos.has(e.target) && e.source !== e.target);
  for (let step = 0; step < iterations; step += 1) {
    const heat = (Math.min(width, height) / 10) * (1 - step / iterations);
    const move = new Map(nodes.map((node) => [node.id, { x: 0, y: 0 }]));
    const ids = [...pos.keys()];
    for (let i = 0; i < ids.length; i += 1) {
      for (let j = i + 1; j < ids.length; j += 1) {
        const a = pos.get(ids[i]);
        const b = pos.get(ids[j]);
        const dx = a.x - b.x || 0.01;
        const dy = a.y - b.y || 0.01;
        const dist = Math.max(0.01, Math.hypot(dx, dy));
        const force = (k * k) / dist;
        const ma = move.get(ids[i]);
        const mb = move.get(ids[j]);
        ma.x += (dx / dist) * force; ma.y += (dy / dist) * force;
        mb.x -= (dx / dist) * force; mb.y -= (dy / dist) * force;
      }
    }
    for (const edge of links) {
      const a = pos.get(edge.source);
      const b = pos.get(edge.target);
      const dx = a.x - b.x;
      const dy = a.y - b.y;
      const dist = Math.max(0.01, Math.hypot(dx, dy));
      const force = (dist * dist) / k;
      const ma = move.get(edge.source);
      const mb = move.get(edge.target);
      ma.x -= (dx / dist) * force; ma.y -= (dy / dist) * force;
      mb.x += (dx / dist) * force; mb.y += (dy / dist) * force;
    }
    for (const [id, m] of move) {
      const p = pos.get(id);
      const size = Math.max(0.01, Math.hypot(m.x, m.y));
      p.x = Math.min(width - margin, Math.max(margin, p.x + (m.x / size) * Math.min(size, heat)));
      p.y = Math.min(height - margin, Math.max(margin, p.y + (m.y / size) * Math.min(size, heat)));
    }
  }
  return Object.fromEntries(pos);
}

const KINDS = ["store", "user", "device", "ip", "host", "card", "camera", "person", "account", "mac", "domain"];

/** A CSS class for a node kind; unknown kinds share one colour but keep their label. */
export function kindClass(kind) {
  const name = String(kind ?? "").toLowerCase();
  return KINDS.includes(name) ? `kind-${name}` : "kind-other";
}

function clip(text, size = 22) {
  const value = String(text ?? "");
  return value.length > size ? `${value.slice(0, size - 1)}…` : value;
}

/** The SVG picture of {nodes, edges}; each node has a <title> with its full label and kind. */
export function drawGraph(graph, width = 640, height = 360) {
  const nodes = graph?.nodes ?? [];
  const edges = graph?.edges ?? [];
  const pos = layout(nodes, edges, width, height);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "entity-graph", role: "img",
    "aria-label": `Entity graph: ${nodes.length} entities, ${edges.length} links`,
  });
  for (const edge of edges) {
    const a = pos[edge.source];
    const b = pos[edge.target];
    if (!a || !b) continue;
    svg.append(s("g", { class: "edge" },
      s("line", { x1: a.x.toFixed(1), y1: a.y.toFixed(1), x2: b.x.toFixed(1), y2: b.y.toFixed(1) }),
      edge.label ? s("text", { x: ((a.x + b.x) / 2).toFixed(1), y: ((a.y + b.y) / 2 - 4).toFixed(1), class: "edge-label" }, clip(edge.label, 18)) : null));
  }
  for (const node of nodes) {
    const p = pos[node.id];
    svg.append(s("g", { class: `node ${kindClass(node.kind)}`, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})` },
      s("title", {}, `${node.kind}: ${node.label}`),
      s("circle", { r: 9 }),
      s("text", { y: 22, class: "node-label" }, clip(node.label)),
      s("text", { y: -14, class: "node-kind" }, String(node.kind ?? ""))));
  }
  return svg;
}
