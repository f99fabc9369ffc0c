// The dataset page: what it is, its README, manifest (with downloads), tags, annotations,
// dependency graph; curation for those allowed to register in its base URI.

import { ApiError, call, get, uriPath } from "./api.js";
import { clear, h, humanCount, humanDate, humanSize } from "./dom.js";
import { drawGraph } from "./graph.js";
import { Manifest } from "./manifest.js";
import { renderReadme } from "./readme.js";

export function mayCurate(user, dataset) {
  if (!user) return false;
  return Boolean(user.is_admin) || (user.register_permissions_on_base_uris || []).includes(dataset.base_uri);
}

export class DatasetView {
  constructor(app) {
    this.app = app;
    this.element = h("article", { className: "dataset" });
  }

  async show(params) {
    const uri = params.get("uri") || "";
    this.uri = uri;
    this.path = uriPath(uri);
    clear(this.element, h("p", { className: "muted" }, "Loading dataset…"));
    let dataset;
    try {
      dataset = (await get(`/uris/${this.path}`)).data;
    } catch (error) {
      this.app.fail(error);
      clear(this.element, h("h1", {}, "Dataset not shown"), h("p", {}, error.message), back(this.app));
      return;
    }
    this.dataset = dataset;
    this.curate = mayCurate(this.app.session.user, dataset);
    document.title = `${dataset.name} · dtool-lookup`;
    this.readme = h("section", { "aria-labelledby": "readme-title" });
    this.tags = h("section", { "aria-labelledby": "tags-title" });
    this.annotations = h("section", { "aria-labelledby": "annotations-title" });
    this.graph = h("section", { "aria-labelledby": "graph-title", hidden: true });
    const features = await this.app.features;
    this.manifest = new Manifest(this.app, this.path, [...features].some((path) => path.startsWith("/signed-urls/item/")));
    clear(
      this.element,
      back(this.app),
      header(dataset),
      h("div", { className: "dataset-columns" },
        h("div", {}, this.readme, this.manifest.element),
        h("div", {}, this.tags, this.annotations, this.graph)),
    );
    await Promise.all([
      this.loadReadme(),
      this.loadTags(),
      this.loadAnnotations(),
      this.manifest.load(),
      this.loadGraph(),
    ]);
  }

  async fetch(kind) {
    try {
      return (await get(`/${kind}/${this.path}`)).data;
    } catch (error) {
      this.app.fail(error);
      return null;
    }
  }

  // Send a change; show the server's words when it refuses; return the reply's data.
  async change(method, path, body, status) {
    status.textContent = "Saving…";
    try {
      const { data } = await call(method, path, { body });
      status.textContent = "Saved.";
      return data;
    } catch (error) {
      status.textContent = error instanceof ApiError ? error.message : String(error);
      status.classList.add("error");
      if (error.status === 401) this.app.fail(error);
      return null;
    }
  }

  async loadReadme() {
    const data = await this.fetch("readmes");
    this.renderReadme(data ? data.readme : "");
  }

  renderReadme(text) {
    const status = h("p", { className: "status", role: "status" });
    const edit =
      this.curate &&
      h("button", { type: "button", onclick: () => this.editReadme(text, status) }, "Edit README");
    clear(this.readme, h("h2", { id: "readme-title" }, "README"), edit, status, renderReadme(text));
  }

  editReadme(text, status) {
    const area = h("textarea", { id: "readme-editor", rows: 16, spellcheck: "false" });
    area.value = text;
    const save = async (event) => {
      event.preventDefault();
      const data = await this.change("PUT", `/readmes/${this.path}`, { readme: area.value }, status);
      if (data) this.renderReadme(data.readme === undefined ? area.value : data.readme);
    };
    clear(
      this.readme,
      h("h2", { id: "readme-title" }, "README"),
      h(
        "form",
        { onsubmit: save, className: "editor" },
        h("label", { for: "readme-editor" }, "README (YAML)"),
        area,
        h("div", { className: "actions" },
          h("button", { type: "submit" }, "Save README"),
          h("button", { type: "button", onclick: () => this.renderReadme(text) }, "Cancel")),
      ),
      status,
    );
    area.focus();
  }

  async loadTags() {
    const data = await this.fetch("tags");
    this.renderTags(data ? data.tags : []);
  }

  renderTags(tags) {
    const status = h("p", { className: "status", role: "status" });
    const remove = async (tag) => {
      const path = `/tags/${this.path}/${encodeURIComponent(tag)}`;
      const data = await this.change("DELETE", path, undefined, status);
      if (data) this.renderTags(data.tags);
    };
    const input = h("input", { id: "new-tag", autocomplete: "off", required: true });
    const add = async (event) => {
      event.preventDefault();
      const path = `/tags/${this.path}/${encodeURIComponent(input.value.trim())}`;
      const data = await this.change("POST", path, undefined, status);
      if (data) this.renderTags(data.tags);
    };
    clear(
      this.tags,
      h("h2", { id: "tags-title" }, "Tags"),
      tags.length === 0 && h("p", { className: "muted" }, "No tags."),
      h("ul", { className: "tags" },
        tags.map((tag) =>
          h("li", { className: "tag" },
            h("a", { href: `#/?${new URLSearchParams({ tags: tag })}` }, tag),
            this.curate && h("button", {
              type: "button", className: "remove", "aria-label": `Remove tag ${tag}`,
              onclick: () => remove(tag),
            }, "✕")))),
      this.curate &&
        h("form", { onsubmit: add, className: "inline" },
          h("label", { for: "new-tag" }, "New tag"), input, h("button", { type: "submit" }, "Add tag")),
      status,
    );
  }

  async loadAnnotations() {
    const data = await this.fetch("annotations");
    this.renderAnnotations(data ? data.annotations : {});
  }

  renderAnnotations(annotations) {
    const status = h("p", { className: "status", role: "status" });
    const base = `/annotations/${this.path}`;
    const remove = async (name) => {
      const data = await this.change("DELETE", `${base}/${encodeURIComponent(name)}`, undefined, status);
      if (data) this.renderAnnotations(data.annotations);
    };
    const name = h("input", { id: "annotation-name", autocomplete: "off", required: true });
    const value = h("input", { id: "annotation-value", autocomplete: "off", required: true });
    const set = async (event) => {
      event.preventDefault();
      const path = `${base}/${encodeURIComponent(name.value.trim())}`;
      const data = await this.change("PUT", path, { value: jsonOrText(value.value) }, status);
      if (data) this.renderAnnotations(data.annotations);
    };
    const entries = Object.entries(annotations || {});
    clear(
      this.annotations,
      h("h2", { id: "annotations-title" }, "Annotations"),
      entries.length === 0 && h("p", { className: "muted" }, "No annotations."),
      entries.length > 0 &&
        h("table", { className: "annotations" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Value"),
            this.curate && h("th", { scope: "col" }, h("span", { className: "visually-hidden" }, "Actions")))),
          h("tbody", {},
            entries.map(([key, item]) =>
              h("tr", {},
                h("th", { scope: "row" }, key),
                h("td", {}, h("code", {}, typeof item === "string" ? item : JSON.stringify(item))),
                this.curate && h("td", {}, h("button", {
                  type: "button", "aria-label": `Delete annotation ${key}`, onclick: () => remove(key),
                }, "Delete")))))),
      this.curate &&
        h("form", { onsubmit: set, className: "inline" },
          h("label", { for: "annotation-name" }, "Name"), name,
          h("label", { for: "annotation-value" }, "Value (JSON or text)"), value,
          h("button", { type: "submit" }, "Set annotation")),
      status,
    );
  }

  async loadGraph() {
    if (!(await this.app.features).has("/graph/uuids/{uuid}")) return;
    try {
      const { data } = await get(`/graph/uuids/${encodeURIComponent(this.dataset.uuid)}`);
      this.graph.hidden = false;
      clear(this.graph, h("h2", { id: "graph-title" }, "Dependency graph"), drawGraph(data, this.dataset.uuid));
    } catch (error) {
      this.app.fail(error);
    }
  }
}

function jsonOrText(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function back(app) {
  return h("p", {}, h("a", { href: app.lastSearch || "#/" }, "← Back to search"));
}

function copyButton(text) {
  const button = h("button", { type: "button", className: "copy", "aria-label": "Copy URI" }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
  });
  return button;
}

function header(dataset) {
  const row = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];
  return h(
    "header",
    { className: "dataset-header" },
    h("h1", {}, dataset.name),
    h(
      "dl",
      { className: "facts" },
      row("UUID", h("code", {}, dataset.uuid)),
      row("URI", h("code", { id: "dataset-uri" }, dataset.uri), " ", copyButton(dataset.uri)),
      row("Creator", dataset.creator_username),
      row("Base URI", dataset.base_uri),
      row("Created", humanDate(dataset.created_at)),
      row("Frozen", humanDate(dataset.frozen_at)),
      row("Size", humanSize(dataset.size_in_bytes)),
      row("Items", humanCount(dataset.number_of_items)),
    ),
  );
}
