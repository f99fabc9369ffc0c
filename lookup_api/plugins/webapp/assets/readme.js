// A README shown readably: YAML as a structure (nested lists), anything else as wrapped text.

import { h } from "./dom.js";
import { load } from "./js-yaml.mjs";

export function parseReadme(text) {
  try {
    const value = load(text);
    return value !== null && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

function scalar(value) {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (value === null) return "—";
  return String(value);
}

function structure(value, depth) {
  if (Array.isArray(value)) {
    return h(
      "ul",
      { className: "yaml-list" },
      value.map((item) => h("li", {}, structure(item, depth + 1))),
    );
  }
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return h(
      "dl",
      { className: "yaml-map" },
      Object.entries(value).map(([key, item]) => [h("dt", {}, key), h("dd", {}, structure(item, depth + 1))]),
    );
  }
  return h("span", { className: "yaml-scalar" }, scalar(value));
}

// An element showing `text`: a structure when it is YAML holding a map or list.
export function renderReadme(text) {
  if (!text || !text.trim()) return h("p", { className: "muted" }, "This dataset has no README.");
  const parsed = parseReadme(text);
  if (parsed === null) return h("pre", { className: "readme-text" }, text);
  return h("div", { className: "readme-yaml" }, structure(parsed, 0));
}
