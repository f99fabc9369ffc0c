// The search view: free text as you type, facets with counts, sort, paging, hits.

import { call, get, pagination } from "./api.js";
import { clear, debounce, h, humanCount, humanDate, humanSize } from "./dom.js";
import {
  PAGE_SIZES,
  SORTS,
  apiParams,
  filterBody,
  parseSearch,
  searchParams,
  toggled,
} from "./query.js";

const FACETS = [
  ["creator_usernames", "Creators", "datasets_per_creator"],
  ["base_uris", "Base URIs", "datasets_per_base_uri"],
  ["tags", "Tags", "datasets_per_tag"],
];

export class SearchView {
  constructor(app) {
    this.app = app;
    this.search = null;
    this.summary = null;
    this.annotationFacets = true;
    this.generation = 0;
    this.build();
  }

  build() {
    this.input = h("input", {
      id: "free-text",
      type: "search",
      placeholder: "name, creator, README text…",
      autocomplete: "off",
      oninput: debounce(() => this.change({ free_text: this.input.value, page: 1 }, true), 250),
    });
    this.sort = h(
      "select",
      { id: "sort", onchange: () => this.change({ sort: this.sort.value, page: 1 }) },
      SORTS.map(([value, label]) => h("option", { value }, label)),
    );
    this.pageSize = h(
      "select",
      {
        id: "page-size",
        onchange: () => this.change({ page_size: Number(this.pageSize.value), page: 1 }),
      },
      PAGE_SIZES.map((size) => h("option", { value: size }, size)),
    );
    const form = h(
      "form",
      { role: "search", className: "search-form", onsubmit: (event) => event.preventDefault() },
      h("label", { for: "free-text" }, "Search datasets"),
      this.input,
      h("label", { for: "sort" }, "Sort"),
      this.sort,
      h("label", { for: "page-size" }, "Per page"),
      this.pageSize,
    );
    this.active = h("div", { className: "chips", "aria-label": "Active filters" });
    this.facets = h("aside", { className: "facets", "aria-label": "Filters" });
    this.hits = h("p", { id: "hits", className: "hits", "aria-live": "polite" }, "Searching…");
    this.results = h("ol", { className: "results", "aria-labelledby": "hits" });
    this.pager = h("nav", { className: "pager", "aria-label": "Pages" });
    this.element = h(
      "section",
      { className: "search" },
      h("h1", { className: "visually-hidden" }, "Search"),
      form,
      this.active,
      h("div", { className: "columns" }, this.facets, h("div", {}, this.hits, this.results, this.pager)),
    );
  }

  // Show the search the URL holds (called on every navigation to the view).
  show(params) {
    const search = parseSearch(params);
    if (document.activeElement !== this.input) this.input.value = search.free_text;
    this.sort.value = search.sort;
    this.pageSize.value = String(search.page_size);
    const criteriaChanged = !this.search || JSON.stringify(filterBody(this.search)) !== JSON.stringify(filterBody(search));
    this.search = search;
    this.load(criteriaChanged);
  }

  change(changes, typing = false) {
    const search = { ...this.search, ...changes };
    const params = searchParams(search).toString();
    this.app.navigate(`#/${params ? `?${params}` : ""}`, typing);
  }

  async load(criteriaChanged) {
    const generation = ++this.generation;
    this.renderActive();
    // NOTE(webapp): the result list first; the facets' counts (the summary can take a
    // second on a cold cache at 100,000 datasets) are asked for once it is shown.
    await this.loadResults(generation);
    if (!this.summary) this.loadSummary();
    else this.renderFacets();
    if (criteriaChanged && this.annotationFacets) this.loadAnnotationKeys(generation);
  }

  // Ask for the list of the search `params` hold now, for the first load() to use.
  prefetch(params) {
    const query = apiParams(parseSearch(params));
    const pending = get("/uris", { query });
    pending.catch(() => {}); // NOTE(webapp): load() reports failures, if it uses this answer
    this.prefetched = { key: query.toString(), pending };
  }

  resultsFor(query) {
    const prefetched = this.prefetched;
    this.prefetched = null;
    if (prefetched && prefetched.key === query.toString()) return prefetched.pending;
    return get("/uris", { query });
  }

  async loadResults(generation) {
    this.element.setAttribute("aria-busy", "true");
    try {
      const { data, headers } = await this.resultsFor(apiParams(this.search));
      if (generation !== this.generation) return;
      this.renderResults(data, pagination(headers));
    } catch (error) {
      if (generation !== this.generation) return;
      if (error.status === 404 && this.search.page > 1) return this.change({ page: 1 }, true);
      this.app.fail(error);
      clear(this.results);
      this.hits.textContent = error.message;
    } finally {
      if (generation === this.generation) this.element.removeAttribute("aria-busy");
    }
  }

  async loadSummary() {
    try {
      this.summary = (await get("/me/summary")).data;
      this.renderFacets();
    } catch (error) {
      this.app.fail(error);
    }
  }

  async loadAnnotationKeys(generation) {
    try {
      const { data } = await call("POST", "/annotation_filter_plugin/annotation_keys", {
        body: filterBody(this.search),
      });
      if (generation !== this.generation) return;
      this.annotationKeys = data;
      this.renderFacets();
    } catch (error) {
      // NOTE(webapp): a server without the annotation-filter plugin answers 404: no facet then.
      if (error.status === 404) this.annotationFacets = false;
      else this.app.fail(error);
    }
  }

  renderResults(items, pages) {
    const total = pages ? pages.total : items.length;
    const from = total ? (this.search.page - 1) * this.search.page_size + 1 : 0;
    const to = from ? from + items.length - 1 : 0;
    this.hits.textContent =
      total === 0
        ? "No datasets match."
        : `${humanCount(total)} ${total === 1 ? "dataset" : "datasets"}, showing ${from}–${to}`;
    clear(this.results, items.map((item) => resultItem(item)));
    this.renderPager(pages);
  }

  renderPager(pages) {
    const last = pages ? pages.total_pages : 1;
    const page = this.search.page;
    const button = (label, target, name) =>
      h(
        "button",
        {
          type: "button",
          disabled: target < 1 || target > last || target === page,
          "aria-label": name,
          onclick: () => this.change({ page: target }),
        },
        label,
      );
    clear(
      this.pager,
      last > 1 && [
        button("« First", 1, "First page"),
        button("‹ Previous", page - 1, "Previous page"),
        h("span", { "aria-current": "page" }, `Page ${page} of ${last}`),
        button("Next ›", page + 1, "Next page"),
        button("Last »", last, "Last page"),
      ],
    );
  }

  renderActive() {
    const chips = [];
    for (const [name, title] of FACETS.concat([["annotations", "Annotation"]])) {
      for (const value of this.search[name]) {
        chips.push(
          h(
            "button",
            {
              type: "button",
              className: "chip",
              "aria-label": `Remove filter ${title}: ${value}`,
              onclick: () => this.change({ [name]: toggled(this.search[name], value), page: 1 }),
            },
            `${title}: ${value} ✕`,
          ),
        );
      }
    }
    clear(this.active, chips);
  }

  renderFacets() {
    const groups = [];
    if (this.summary) {
      for (const [name, title, counts] of FACETS) {
        groups.push(this.facetGroup(name, title, Object.entries(this.summary[counts] || {})));
      }
    }
    if (this.annotationFacets && this.annotationKeys) groups.push(this.annotationGroup());
    clear(this.facets, groups);
  }

  facetGroup(name, title, entries) {
    entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const chosen = this.search[name];
    const id = `facet-${name}`;
    return h(
      "fieldset",
      { className: "facet", id },
      h("legend", {}, title),
      entries.length === 0 && h("p", { className: "muted" }, "none"),
      entries.slice(0, 50).map(([value, count], index) =>
        h(
          "div",
          { className: "check" },
          h("input", {
            type: "checkbox",
            id: `${id}-${index}`,
            checked: chosen.includes(value),
            onchange: () => this.change({ [name]: toggled(chosen, value), page: 1 }),
          }),
          h("label", { for: `${id}-${index}` }, value, " ", h("span", { className: "count" }, `(${humanCount(count)})`)),
        ),
      ),
    );
  }

  annotationGroup() {
    const entries = Object.entries(this.annotationKeys).sort((a, b) => b[1] - a[1]);
    return h(
      "fieldset",
      { className: "facet", id: "facet-annotations" },
      h("legend", {}, "Annotations"),
      entries.length === 0 && h("p", { className: "muted" }, "none"),
      entries.slice(0, 30).map(([key, count]) => this.annotationKey(key, count)),
    );
  }

  annotationKey(key, count) {
    const values = h("div", { className: "values" });
    const details = h(
      "details",
      {
        ontoggle: () => details.open && this.loadValues(key, values),
        open: this.search.annotations.some((pair) => pair.startsWith(`${key}=`)),
      },
      h("summary", {}, key, " ", h("span", { className: "count" }, `(${humanCount(count)})`)),
      values,
    );
    return details;
  }

  async loadValues(key, container) {
    const body = { ...filterBody(this.search), annotation_keys: [key] };
    if (body.annotations) delete body.annotations[key];
    try {
      const { data } = await call("POST", "/annotation_filter_plugin/annotation_values", { body });
      const entries = Object.entries(data[key] || {}).sort((a, b) => b[1] - a[1]);
      const chosen = this.search.annotations;
      clear(
        container,
        entries.slice(0, 50).map(([value, count], index) => {
          const pair = `${key}=${value}`;
          const id = `annotation-${key}-${index}`.replace(/[^A-Za-z0-9_-]/g, "_");
          return h(
            "div",
            { className: "check" },
            h("input", {
              type: "checkbox",
              id,
              checked: chosen.includes(pair),
              onchange: () => this.change({ annotations: toggled(chosen, pair), page: 1 }),
            }),
            h("label", { for: id }, value, " ", h("span", { className: "count" }, `(${humanCount(count)})`)),
          );
        }),
      );
    } catch (error) {
      this.app.fail(error);
    }
  }
}

function resultItem(item) {
  const link = `#/dataset?${new URLSearchParams({ uri: item.uri })}`;
  return h(
    "li",
    { className: "result" },
    h("a", { href: link, className: "name" }, item.name),
    h(
      "p",
      { className: "meta" },
      h("span", {}, item.creator_username),
      h("span", {}, `frozen ${humanDate(item.frozen_at)}`),
      h("span", {}, humanSize(item.size_in_bytes)),
      h("span", {}, `${humanCount(item.number_of_items)} items`),
    ),
    h("p", { className: "uri" }, item.uri),
  );
}
