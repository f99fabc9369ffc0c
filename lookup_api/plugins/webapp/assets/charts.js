// Bar charts as SVG: horizontal bars for named counts, columns for counts over time.

import { h, humanCount, svg } from "./dom.js";

const BAR_H = 22;
const LABEL_W = 220;
const CHART_W = 640;

// Horizontal bars for {name: count}, largest first (at most `limit`), with a table for reading.
export function barChart(title, counts, limit = 15) {
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]).slice(0, limit);
  if (entries.length === 0) return figure(title, h("p", { className: "muted" }, "Nothing to count yet."));
  const most = Math.max(...entries.map(([, count]) => count));
  const room = CHART_W - LABEL_W - 70;
  const bars = entries.map(([name, count], index) => {
    const y = index * BAR_H;
    const width = Math.max(2, (count / most) * room);
    return svg("g", {},
      svg("title", {}, `${name}: ${count}`),
      svg("text", { x: LABEL_W - 8, y: y + 15, "text-anchor": "end", class: "label" },
        name.length > 30 ? `…${name.slice(-29)}` : name),
      svg("rect", { x: LABEL_W, y: y + 3, width, height: BAR_H - 6, class: "bar" }),
      svg("text", { x: LABEL_W + width + 6, y: y + 15, class: "value" }, humanCount(count)));
  });
  const height = entries.length * BAR_H + 4;
  return figure(title, svg("svg", { viewBox: `0 0 ${CHART_W} ${height}`, class: "chart", role: "img",
    "aria-label": `${title}: ${entries.map(([name, count]) => `${name} ${count}`).join(", ")}` }, bars));
}

// Columns for {YYYY-MM: count} in month order.
export function timeChart(title, counts) {
  const entries = Object.entries(counts || {}).sort((a, b) => a[0].localeCompare(b[0]));
  if (entries.length === 0) return figure(title, h("p", { className: "muted" }, "Nothing to count yet."));
  const most = Math.max(...entries.map(([, count]) => count));
  const height = 200;
  const step = Math.max(8, Math.min(48, (CHART_W - 40) / entries.length));
  const width = Math.max(CHART_W, entries.length * step + 40);
  const labelEvery = Math.ceil(entries.length / 12);
  const columns = entries.map(([month, count], index) => {
    const x = 30 + index * step;
    const tall = Math.max(1, (count / most) * (height - 50));
    return svg("g", {},
      svg("title", {}, `${month}: ${count}`),
      svg("rect", { x, y: height - 30 - tall, width: step - 2, height: tall, class: "bar" }),
      index % labelEvery === 0 && svg("text", { x: x + step / 2, y: height - 12, "text-anchor": "middle", class: "label" }, month));
  });
  return figure(title, h("div", { className: "scroll" }, svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, class: "chart", role: "img",
    "aria-label": `${title}: ${entries.map(([month, count]) => `${month} ${count}`).join(", ")}`,
  }, columns)));
}

function figure(title, body) {
  return h("figure", { className: "chart-figure" }, h("figcaption", {}, title), body);
}
