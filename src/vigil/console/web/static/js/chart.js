// Small SVG charts drawn here (no library): a time histogram and time lines.
// Each chart has a text summary for screen readers and axis labels in words.

import { s } from "./dom.js";
import { number, time } from "./format.js";

const PAD = { left: 44, right: 12, top: 24, bottom: 26 };

/** Axis values from 0 to the first round number at or above `max` (so no bar overflows). */
export function ticks(max, count = 5) {
  if (max <= 0) return [0];
  const step = Math.pow(10, Math.floor(Math.log10(max / count)));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((size) => max / size <= count) ?? step * 10;
  return Array.from({ length: Math.ceil(max / nice - 1e-9) + 1 }, (_, i) => i * nice);
}

function frame(width, height, label) {
  return s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img", "aria-label": label });
}

function yAxis(svg, max, width, height) {
  const plot = height - PAD.top - PAD.bottom;
  const top = Math.max(1, ticks(max).at(-1));
  for (const v of ticks(max)) {
    const y = PAD.top + plot - (v / top) * plot;
    svg.append(s("line", { class: "grid", x1: PAD.left, x2: width - PAD.right, y1: y.toFixed(1), y2: y.toFixed(1) }));
    svg.append(s("text", { class: "axis", x: PAD.left - 6, y: (y + 4).toFixed(1), "text-anchor": "end" }, number(v)));
  }
  return top;
}

function xLabels(svg, first, last, width, height) {
  svg.append(s("text", { class: "axis", x: PAD.left, y: height - 6 }, time(first)));
  svg.append(s("text", { class: "axis", x: width - PAD.right, y: height - 6, "text-anchor": "end" }, time(last)));
}

/** Bars of counts over time from [{t, n}]; empty input draws a "no data" note. */
export function histogram(points, { width = 720, height = 180 } = {}) {
  const data = (points ?? []).filter((p) => p && p.t !== undefined);
  const total = data.reduce((sum, p) => sum + Number(p.n || 0), 0);
  const svg = frame(width, height, `Events over time: ${number(total)} in ${data.length} intervals`);
  if (!data.length) {
    svg.append(s("text", { class: "axis", x: width / 2, y: height / 2, "text-anchor": "middle" }, "No data"));
    return svg;
  }
  const max = Math.max(...data.map((p) => Number(p.n || 0)));
  const top = yAxis(svg, max, width, height);
  const plot = { w: width - PAD.left - PAD.right, h: height - PAD.top - PAD.bottom };
  const slot = plot.w / data.length;
  data.forEach((p, i) => {
    const bh = (Number(p.n || 0) / top) * plot.h;
    svg.append(s("rect", {
      class: "bar-rect", x: (PAD.left + i * slot + slot * 0.1).toFixed(1), width: Math.max(1, slot * 0.8).toFixed(1),
      y: (PAD.top + plot.h - bh).toFixed(1), height: bh.toFixed(1),
    }, s("title", {}, `${time(p.t)}: ${number(p.n)}`)));
  });
  xLabels(svg, data[0].t, data.at(-1).t, width, height);
  return svg;
}

/** Lines over time: series = [{name, points: [{t, v}]}]; each line is named in a legend. */
export function lines(series, { width = 720, height = 200 } = {}) {
  const all = series.flatMap((line) => line.points);
  const svg = frame(width, height, `Chart of ${series.map((line) => line.name).join(", ")}`);
  if (!all.length) {
    svg.append(s("text", { class: "axis", x: width / 2, y: height / 2, "text-anchor": "middle" }, "No data"));
    return svg;
  }
  const times = all.map((p) => new Date(p.t).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const top = yAxis(svg, Math.max(...all.map((p) => Number(p.v || 0))), width, height);
  const plot = { w: width - PAD.left - PAD.right, h: height - PAD.top - PAD.bottom };
  const x = (t) => PAD.left + (t1 > t0 ? ((new Date(t).getTime() - t0) / (t1 - t0)) * plot.w : plot.w / 2);
  const y = (v) => PAD.top + plot.h - (Number(v || 0) / top) * plot.h;
  series.forEach((line, i) => {
    const path = line.points.map((p, j) => `${j ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    svg.append(s("path", { class: `line line-${i % 4}`, d: path }, s("title", {}, line.name)));
    svg.append(s("text", { class: `legend line-${i % 4}`, x: PAD.left + 8 + i * 120, y: 12 }, `— ${line.name}`));
  });
  xLabels(svg, new Date(t0).toISOString(), new Date(t1).toISOString(), width, height);
  return svg;
}

/** Counts per time bucket from any rows whose `column` holds a time: [{t, n}] for histogram(). */
export function bucket(values, buckets = 40) {
  const times = values.map((v) => new Date(v).getTime()).filter((t) => !Number.isNaN(t));
  if (!times.length) return [];
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const size = Math.max(1, Math.ceil((t1 - t0 + 1) / buckets));
  const counts = new Map();
  for (const t of times) {
    const start = t0 + Math.floor((t - t0) / size) * size;
    counts.set(start, (counts.get(start) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([t, n]) => ({ t: new Date(t).toISOString(), n }));
}
