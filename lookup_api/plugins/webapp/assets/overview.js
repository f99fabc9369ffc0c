// The overview: datasets per creator, base URI, tag and month, as charts.

import { get } from "./api.js";
import { clear, h, humanCount, humanSize } from "./dom.js";
import { barChart, timeChart } from "./charts.js";

export class OverviewView {
  constructor(app) {
    this.app = app;
    this.element = h("section", { className: "overview" });
  }

  async show() {
    clear(this.element, h("h1", {}, "Overview"), h("p", { className: "muted" }, "Counting…"));
    try {
      const [summary, timeline] = await Promise.all([
        get("/me/summary").then((reply) => reply.data),
        get("/webapp/timeline").then((reply) => reply.data),
      ]);
      clear(
        this.element,
        h("h1", {}, "Overview"),
        h("p", {}, `${humanCount(summary.number_of_datasets)} datasets you may search, `,
          `${humanSize(summary.total_size_in_bytes)} in all.`),
        h("div", { className: "charts" },
          barChart("Datasets per creator", summary.datasets_per_creator),
          barChart("Datasets per base URI", summary.datasets_per_base_uri),
          barChart("Datasets per tag", summary.datasets_per_tag),
          timeChart("Datasets frozen per month (UTC)", timeline.datasets_per_month)),
      );
    } catch (error) {
      this.app.fail(error);
      clear(this.element, h("h1", {}, "Overview"), h("p", {}, error.message));
    }
  }
}
