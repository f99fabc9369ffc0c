// A dependency graph drawn as layers: parents above the datasets derived from them.

import { h, svg } from "./dom.js";

const NODE_W = 170;
const NODE_H = 34;
const GAP_X = 20;
const GAP_Y = 46;

// The layer of each node: 0 for nodes without a parent in the graph, else 1 + deepest parent.
function layers(nodes) {
  const byUuid = new Map(nodes.map((node) => [node.uuid, node]));
  const depth = new Map();
  const visit = (node, seen) => {
    if (depth.has(node.uuid)) return depth.get(node.uuid);
    if (seen.has(node.uuid)) return 0; // a cycle: cut it here
    seen.add(node.uuid);
    const parents = (node.derived_from || []).map((uuid) => byUuid.get(uuid)).filter(Boolean);
    const value = parents.length ? 1 + Math.max(...parents.map((parent) => visit(parent, seen))) : 0;
    depth.set(node.uuid, value);
    return value;
  };
  for (const node of nodes) visit(node, new Set());
  return depth;
}

function unique(entries) {
  const seen = new Map();
  for (const entry of entries) if (entry && entry.uuid && !seen.has(entry.uuid)) seen.set(entry.uuid, entry);
  return [...seen.values()];
}

export function drawGraph(entries, current) {
  const nodes = unique(entries || []);
  if (nodes.length <= 1) return h("p", { className: "muted" }, "No datasets are derived from or used by this one.");
  const depth = layers(nodes);
  const rows = [];
  for (const node of nodes) (rows[depth.get(node.uuid)] ||= []).push(node);
  const widest = Math.max(...rows.map((row) => (row ? row.length : 0)));
  const width = widest * (NODE_W + GAP_X) + GAP_X;
  const height = rows.length * (NODE_H + GAP_Y) + GAP_Y / 2;
  const place = new Map();
  rows.forEach((row, level) =>
    (row || []).forEach((node, index) => {
      const offset = (width - row.length * (NODE_W + GAP_X)) / 2;
      place.set(node.uuid, { x: offset + index * (NODE_W + GAP_X) + GAP_X / 2, y: GAP_Y / 2 + level * (NODE_H + GAP_Y) });
    }),
  );
  const edges = [];
  for (const node of nodes) {
    for (const parent of node.derived_from || []) {
      const from = place.get(parent);
      const to = place.get(node.uuid);
      if (!from || !to) continue;
      edges.push(svg("line", {
        x1: from.x + NODE_W / 2, y1: from.y + NODE_H, x2: to.x + NODE_W / 2, y2: to.y, class: "edge",
        "marker-end": "url(#arrow)",
      }));
    }
  }
  const boxes = nodes.map((node) => {
    const at = place.get(node.uuid);
    const label = node.name || node.uuid.slice(0, 8);
    const box = svg("g", { class: node.uuid === current ? "node current" : "node" },
      svg("title", {}, `${label} (${node.uuid})`),
      svg("rect", { x: at.x, y: at.y, width: NODE_W, height: NODE_H, rx: 6 }),
      svg("text", { x: at.x + NODE_W / 2, y: at.y + NODE_H / 2 + 5, "text-anchor": "middle" },
        label.length > 22 ? `${label.slice(0, 21)}…` : label));
    if (!node.uri || node.uuid === current) return box;
    const link = svg("a", { href: `#/dataset?${new URLSearchParams({ uri: node.uri })}` }, box);
    link.setAttribute("aria-label", `Open ${label}`);
    return link;
  });
  const defs = svg("defs", {}, svg("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "8", markerHeight: "8", orient: "auto",
  }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" })));
  return h("div", { className: "scroll" },
    svg("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": `Dependency graph of ${nodes.length} datasets; arrows point from a dataset to those derived from it` },
    defs, edges, boxes));
}
