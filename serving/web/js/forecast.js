// The forecast view: a choropleth of one period, category and statistic, and per region
// the recent observed counts, the forecast with its interval, and the detection rate. Only
// regions the key reads region by region get rows (access.js); the others stay country level.

import { api } from "./api.js";
import { forecastChart } from "./chart.js";
import { diverging, fmt, sequential } from "./colors.js";
import { count, facts, h, missing, options } from "./dom.js";

const STATS = {
  mean: ["activity_mean", "Expected incidents"],
  q10: ["activity_q10", "Incidents, low end (10% quantile)"],
  q90: ["activity_q90", "Incidents, high end (90% quantile)"],
  change: [null, "Change in expected incidents since the last period"],
};

export class ForecastView {
  constructor({ regions, access, form, modelNote, warnings }) {
    this.regions = regions; // region_id -> properties
    this.access = access;
    this.form = form;
    this.modelNote = modelNote;
    this.warnings = warnings;
    this.rows = new Map();
    this.periods = [];
    this.categories = [];
    this.observed = { periods: [], rows: [] };
    this.observedAt = new Map();
  }

  async load(horizon = 4) {
    const [forecast, observed] = await Promise.all([api.forecast(horizon), api.observed(12)]);
    this.model = forecast.model;
    const rows = this.access.keep(forecast.forecasts);
    for (const row of rows) {
      this.rows.set(`${row.region_id}|${row.category}|${row.period}`, row);
    }
    this.periods = [...new Set(rows.map((r) => r.period))].sort();
    this.categories = [...new Set(rows.map((r) => r.category))].sort();
    this.observed = { periods: observed.periods, rows: this.access.keep(observed.rows) };
    for (const row of this.observed.rows) {
      this.observedAt.set(`${row.region_id}|${row.category}|${row.period}`, row);
    }
    const { period, category, stat } = this.controls();
    options(period, this.periods.map((p, i) => [p, `${p} (${i + 1} ahead)`]), this.periods[0]);
    options(category, this.categories.map((c) => [c, c.replaceAll("_", " ")]), this.categories[0]);
    stat.value = "mean";
    this.modelNote.textContent = `Model ${this.model.name}, version ${this.model.version}` +
      (this.model.trained_at ? `, trained ${this.model.trained_at.slice(0, 10)}` : "");
    this.warnings.replaceChildren(...(forecast.warnings || []).map((w) => h("li", {}, w)));
    this.warnings.hidden = !this.warnings.children.length;
  }

  controls() {
    return {
      period: this.form.querySelector("#f-period"),
      category: this.form.querySelector("#f-category"),
      stat: this.form.querySelector("#f-stat"),
    };
  }

  choice() {
    const { period, category, stat } = this.controls();
    return { period: period.value, category: category.value, stat: stat.value };
  }

  lastObserved(regionId, category) {
    const last = this.observed.periods[this.observed.periods.length - 1];
    const row = this.observedAt.get(`${regionId}|${category}|${last}`);
    return Number.isFinite(row?.observed) ? row.observed : NaN; // a withheld count is no zero
  }

  // The value painted for a region under the current choice.
  value(regionId, { period, category, stat }) {
    const row = this.rows.get(`${regionId}|${category}|${period}`);
    if (!row) return NaN;
    if (stat !== "change") return row[STATS[stat][0]];
    const i = this.periods.indexOf(period);
    if (i === 0) return row.activity_mean - this.lastObserved(regionId, category);
    const before = this.rows.get(`${regionId}|${category}|${this.periods[i - 1]}`);
    return before ? row.activity_mean - before.activity_mean : NaN;
  }

  // What the map and the legend show.
  paint() {
    const choice = this.choice();
    const values = new Map([...Object.keys(this.regions)].map((id) => [id, this.value(id, choice)]));
    const scale = choice.stat === "change" ? diverging([...values.values()]) : sequential([...values.values()]);
    const [, title] = STATS[choice.stat];
    const first = this.periods.indexOf(choice.period) === 0;
    const note = choice.stat === "change" && first
      ? "First period: against the last observed count, which misses what no one found."
      : `${choice.category.replaceAll("_", " ")}, week of ${choice.period}. Grey: no forecast.`;
    return {
      fill: (id) => scale.colour(values.get(id)),
      describe: (id) => `${this.regions[id].name || id} (${this.regions[id].country}): ${title.toLowerCase()} ${fmt(values.get(id))}`,
      legend: { title, classes: scale.classes, note },
      caption: `Forecast map: ${title.toLowerCase()}, ${choice.category.replaceAll("_", " ")}, ${choice.period}.`,
    };
  }

  details(regionId) {
    const region = this.regions[regionId];
    const { category, period } = this.choice();
    const observed = this.observed.periods.map((p) => {
      const row = this.observedAt.get(`${regionId}|${category}|${p}`);
      return { period: p, value: Number.isFinite(row?.observed) ? row.observed : null, withheld: Boolean(row?.suppressed) };
    });
    const forecast = this.periods
      .map((p) => this.rows.get(`${regionId}|${category}|${p}`))
      .filter(Boolean)
      .map((r) => ({ period: r.period, mean: r.activity_mean, q10: r.activity_q10, q90: r.activity_q90 }));
    const row = this.rows.get(`${regionId}|${category}|${period}`);
    const kappa = row ? row.detection_rate : NaN;
    const recent = observed.filter((o) => o.value !== null || o.withheld);
    const latest = recent[recent.length - 1];
    const title = `${category.replaceAll("_", " ")} in ${region.name || regionId}: observed counts of the last ` +
      `${count(observed.length, "period")}, then the forecast mean with its 10%–90% interval`;
    return h("div", { class: "region-view", "data-region-id": regionId },
      h("h3", {}, `${region.name || regionId}`),
      h("p", { class: "note" }, `${regionId} · ${region.country} · ${(region.kind || "").replaceAll("_", " ")}`),
      h("figure", {}, forecastChart({ observed, forecast, title }), h("figcaption", {}, title)),
      facts([
        ["Forecast, " + period, row ? `${fmt(row.activity_mean)} (80% interval ${fmt(row.activity_q10)}–${fmt(row.activity_q90)})` : missing("no forecast of this region, category and period")],
        ["Detection rate κ", Number.isFinite(kappa) ? `${fmt(kappa, 3)} — one shift finds an incident with chance ${fmt(100 * (1 - Math.exp(-kappa)), 1)}%` : missing("no forecast here, so no detection rate")],
        ["Observed, last period", !latest ? "no report"
          : `${latest.value === null ? "withheld (a small count from another agency)" : fmt(latest.value, 0)} (${latest.period})`],
      ]),
      h("table", { class: "numbers" },
        h("caption", {}, "Forecast by period"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Period"), h("th", { scope: "col" }, "Mean"), h("th", { scope: "col" }, "10%–90%"))),
        h("tbody", {}, forecast.map((f) => h("tr", {}, h("td", {}, f.period), h("td", {}, fmt(f.mean)), h("td", {}, `${fmt(f.q10)}–${fmt(f.q90)}`))))),
    );
  }
}
