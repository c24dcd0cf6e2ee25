// A country the key reads only as totals: what a click on one of its regions shows — the
// country's latest total per category from GET /incidents (its `country` rows), or that the
// total is withheld. Region rows of that answer are never used here.

import { api } from "./api.js";
import { fmt } from "./colors.js";
import { count, facts, h } from "./dom.js";

// How far back the latest total is looked for.
const PERIODS = 12;

export class CountryTotals {
  constructor(access) {
    this.access = access;
    this.loading = null;
    this.periods = [];
    this.latest = new Map(); // "country|category" -> the newest country row
  }

  load() {
    this.loading ??= (async () => {
      const { periods } = await api.observed(PERIODS);
      this.periods = periods;
      const { rows } = await api.incidents({ start: periods[0] });
      for (const row of rows) {
        if (row.level !== "country") continue;
        const key = `${row.country}|${row.category}`;
        const seen = this.latest.get(key);
        if (!seen || row.period > seen.period) this.latest.set(key, row);
      }
    })().catch((err) => {
      this.loading = null; // try again on the next click
      throw err;
    });
    return this.loading;
  }

  // The details of `country`, as `clickedId` (one of its regions) was chosen: a node now,
  // filled in when the totals are there.
  details(country, clickedId, onError) {
    const regions = this.access.countryLevel(country);
    const body = h("div", { class: "totals" }, h("p", { class: "note" }, "Loading the country's latest totals…"));
    const view = h("div", { class: "country-view", "data-country": country, "data-region-id": clickedId },
      h("h3", {}, `${country}: country totals`),
      h("p", {}, `This key reads ${regions.length === 1 ? "this region" : `these ${count(regions.length, "region")}`} of ${country} ` +
        "only as the country's total, not region by region: ",
      regions.map((r) => r.name || r.region_id).join(", "), "."),
      body);
    this.load().then(() => {
      body.replaceChildren(this.table(country));
      view.dataset.loaded = "true";
    }, (err) => {
      body.replaceChildren(h("p", { class: "note" }, err.status === 403
        ? "Country totals are open to analysts and planners; this key's role does not read them."
        : `The totals could not be loaded: ${err.message}`));
      view.dataset.loaded = "error";
      if (err.status !== 403) onError?.(err);
    });
    return view;
  }

  table(country) {
    const rows = [...this.latest.values()].filter((r) => r.country === country)
      .sort((a, b) => a.category.localeCompare(b.category));
    if (!rows.length) {
      return h("p", { class: "note" }, `No total of ${country} in the last ${count(this.periods.length, "period")}` +
        (this.periods.length ? ` (since ${this.periods[0]}).` : "."));
    }
    return facts(rows.map((r) => [`${r.category.replaceAll("_", " ")}, ${r.period}`, total(r)]),
      `Latest total of ${country}'s regions above`);
  }
}

function total(row) {
  if (row.suppressed) {
    return h("span", { class: "withheld" }, "withheld — the total covers too few regions or too few counts to publish");
  }
  if (!Number.isFinite(row.count)) return "no count reported";
  const parts = Number.isFinite(row.reported) && Number.isFinite(row.detected)
    ? ` (reported ${fmt(row.reported, 0)}, detected ${fmt(row.detected, 0)})` : "";
  return `${fmt(row.count, 0)} incident${row.count === 1 ? "" : "s"}${parts}`;
}
