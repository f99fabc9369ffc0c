// The manifest as a table: filter by path, sort by column, download an item through a
// short-lived signed URL.

import { get } from "./api.js";
import { clear, h, humanCount, humanDate, humanSize } from "./dom.js";

const SHOWN = 200;
const COLUMNS = [
  ["relpath", "Path"],
  ["size_in_bytes", "Size"],
  ["utc_timestamp", "Modified"],
];

export class Manifest {
  constructor(app, path, downloads) {
    this.app = app;
    this.downloads = downloads;
    this.path = path;
    this.items = [];
    this.sortKey = "relpath";
    this.ascending = true;
    this.filter = h("input", { id: "manifest-filter", type: "search", oninput: () => this.render() });
    this.count = h("p", { className: "muted", "aria-live": "polite" });
    this.table = h("table", { className: "manifest" });
    this.status = h("p", { className: "status", role: "status" });
    this.element = h(
      "section",
      { "aria-labelledby": "manifest-title" },
      h("h2", { id: "manifest-title" }, "Items"),
      h("div", { className: "inline" }, h("label", { for: "manifest-filter" }, "Filter items by path"), this.filter),
      this.count,
      !downloads && h("p", { className: "muted" }, "This server has no signed-URL routes: items cannot be downloaded here."),
      this.status,
      h("div", { className: "scroll" }, this.table),
    );
  }

  async load() {
    try {
      const { data } = await get(`/manifests/${this.path}`);
      this.items = Object.entries(data.items || {}).map(([identifier, item]) => ({ identifier, ...item }));
    } catch (error) {
      this.app.fail(error);
      this.count.textContent = error.message;
      return;
    }
    this.render();
  }

  sortBy(key) {
    this.ascending = this.sortKey === key ? !this.ascending : true;
    this.sortKey = key;
    this.render();
    this.table.querySelector(`[data-key="${key}"]`)?.focus();
  }

  rows() {
    const needle = this.filter.value.trim().toLowerCase();
    const key = this.sortKey;
    const sign = this.ascending ? 1 : -1;
    return this.items
      .filter((item) => !needle || item.relpath.toLowerCase().includes(needle))
      .sort((a, b) => (a[key] < b[key] ? -sign : a[key] > b[key] ? sign : 0));
  }

  render() {
    const rows = this.rows();
    this.count.textContent =
      rows.length > SHOWN
        ? `${humanCount(rows.length)} items match; the first ${SHOWN} are shown.`
        : `${humanCount(rows.length)} of ${humanCount(this.items.length)} items.`;
    const head = COLUMNS.map(([key, label]) => {
      const sorted = this.sortKey === key;
      return h(
        "th",
        { scope: "col", "aria-sort": sorted ? (this.ascending ? "ascending" : "descending") : "none" },
        h("button", { type: "button", className: "sort", "data-key": key, onclick: () => this.sortBy(key) },
          label, sorted ? (this.ascending ? " ▲" : " ▼") : ""),
      );
    });
    clear(
      this.table,
      h("thead", {}, h("tr", {}, head, h("th", { scope: "col" }, h("span", { className: "visually-hidden" }, "Download")))),
      h("tbody", {}, rows.slice(0, SHOWN).map((item) => this.row(item))),
    );
  }

  row(item) {
    return h(
      "tr",
      {},
      h("td", { className: "path" }, item.relpath),
      h("td", { className: "number" }, humanSize(item.size_in_bytes)),
      h("td", {}, humanDate(item.utc_timestamp)),
      h("td", {}, this.downloads && h("button", {
        type: "button", "aria-label": `Download ${item.relpath}`, onclick: () => this.download(item),
      }, "Download")),
    );
  }

  async download(item) {
    this.status.classList.remove("error");
    this.status.textContent = `Preparing ${item.relpath}…`;
    try {
      const { data } = await get(`/signed-urls/item/${this.path}/${encodeURIComponent(item.identifier)}`);
      const link = h("a", { href: data.url, download: item.relpath.split("/").pop(), hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      this.status.textContent = `Downloading ${item.relpath}.`;
    } catch (error) {
      this.status.classList.add("error");
      this.status.textContent = `Download failed: ${error.message}`;
      if (error.status === 401) this.app.fail(error);
    }
  }
}
