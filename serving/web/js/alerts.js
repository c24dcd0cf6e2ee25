// The key's alerts (GET /alerts), newest first: a region whose new count went above the
// last forecast's 90% quantile, or whose new forecast jumped above the previous one's. On
// the map, the regions with an alert stand out. The steps of the joint operations the key's
// country is party to (proposed, pledged to, confirmed, ...) are alerts too: they name no
// region, and are listed among the others.

import { api } from "./api.js";
import { NONE, fmt } from "./colors.js";
import { count, facts, h } from "./dom.js";

const ALERTED = "#b35806";
const STEPS = {
  operation_proposed: "proposed", operation_pledged: "pledged to", operation_declined: "declined",
  operation_confirmed: "confirmed", operation_expired: "expired unconfirmed",
  operation_withdrawn: "withdrawn", operation_cancelled: "cancelled",
};
const KINDS = {
  observed_above_q90: ["Observed above the forecast", "the new count is above the 90% quantile the last forecast gave"],
  forecast_jump: ["Forecast jumped", "the new forecast mean is above the 90% quantile of the previous forecast"],
};

export class AlertsView {
  // list: the <ol> of alerts; empty: what is said instead when there is none; onOpen(regionId):
  // show a region (null when there is no map).
  constructor({ regions, access, list, empty, onOpen }) {
    this.regions = regions;
    this.access = access;
    this.list = list;
    this.empty = empty;
    this.onOpen = onOpen;
    this.alerts = [];
    this.steps = [];
    this.loaded = false;
  }

  async load(limit = 100) {
    const { alerts } = await api.alerts(limit);
    this.steps = alerts.filter((a) => a.operation);
    this.alerts = this.access.keep(alerts.filter((a) => !a.operation));
    this.loaded = true;
    this.render();
    return this.alerts;
  }

  regionName(alert) {
    const region = this.regions[alert.region_id];
    return `${region?.name || alert.region_id} (${alert.country})`;
  }

  render() {
    const newest = [...this.alerts, ...this.steps].sort((a, b) => b.id - a.id);
    this.list.replaceChildren(...newest.map((a) => {
      if (a.operation) return step(a, this.regions);
      const [title, why] = KINDS[a.kind] || [a.kind, ""];
      const where = this.onOpen && this.regions[a.region_id]
        ? h("button", { type: "button", class: "link", "aria-label": `Show ${this.regionName(a)} on the map`, onclick: () => this.onOpen(a.region_id) }, this.regionName(a))
        : h("strong", {}, this.regionName(a));
      return h("li", { "data-alert-id": a.id, "data-region-id": a.region_id, "data-kind": a.kind },
        h("p", { class: "alert-title" }, where, ` — ${title}`),
        h("p", {}, `${a.category.replaceAll("_", " ")}, period ${a.period}: ${value(a)} against a 90% quantile of ${fmt(a.threshold, 1)}`),
        h("p", { class: "note" }, `${why}. Raised ${a.created_at.replace("T", " ").slice(0, 16)} by submission ${a.submission_id}.`));
    }));
    // No list of one "no alert" item: a sentence, and no list.
    this.list.hidden = !newest.length;
    this.empty.hidden = Boolean(newest.length);
    this.empty.textContent = this.access.all ? "No alert: no region's new count or forecast went above its 90% quantile."
      : "No alert on the regions this key reads region by region.";
    this.list.dataset.listed = String(Number(this.list.dataset.listed || 0) + 1);
  }

  of(regionId) {
    return this.alerts.filter((a) => a.region_id === regionId);
  }

  paint() {
    const on = (id) => this.of(id).length;
    return {
      fill: (id) => (on(id) ? ALERTED : NONE),
      describe: (id) => `${this.regions[id].name || id} (${this.regions[id].country}): ` +
        (on(id) ? count(on(id), "alert") : "no alert"),
      legend: {
        title: "Alerts",
        classes: [{ colour: ALERTED, label: "a region with an alert" }, { colour: NONE, label: "no alert" }],
        note: this.alerts.length ? `${count(this.alerts.length, "alert")}, newest first in the list.` : "No alert on the regions shown.",
      },
      caption: `Alerts map: ${count(new Set(this.alerts.map((a) => a.region_id)).size, "region")} with an alert.`,
    };
  }

  details(regionId) {
    const region = this.regions[regionId];
    const mine = this.of(regionId);
    return h("div", { class: "region-view", "data-region-id": regionId },
      h("h3", {}, region.name || regionId),
      h("p", { class: "note" }, `${regionId} · ${region.country} · ${(region.kind || "").replaceAll("_", " ")}`),
      mine.length
        ? facts(mine.map((a) => [`${(KINDS[a.kind] || [a.kind])[0]}, ${a.category.replaceAll("_", " ")}, ${a.period}`,
          `${value(a)} against ${fmt(a.threshold, 1)}`]), "Alerts on this region")
        : h("p", { class: "note" }, "No alert on this region."));
  }
}

function value(alert) {
  if (alert.value === null || alert.value === undefined) return "withheld (a small count from another agency)";
  return alert.kind === "forecast_jump" ? `forecast ${fmt(alert.value, 1)}` : `observed ${fmt(alert.value, 0)}`;
}

// A joint operation's step, as the key's country reads it.
function step(alert, regions) {
  const o = alert.operation;
  const by = o.by.country ? `${o.by.country}${o.by.agency ? ` (${o.by.agency})` : ""}` : "the operator";
  const party = o.party && o.party !== o.by.country ? ` for ${o.party}` : "";
  return h("li", { "data-alert-id": alert.id, "data-operation-id": o.operation_id, "data-kind": alert.kind },
    h("p", { class: "alert-title" }, h("strong", {}, `Joint operation ${o.operation_id}`), ` — ${STEPS[alert.kind] || alert.kind} by ${by}${party}`),
    h("p", {}, `Regions ${o.regions.map((id) => regions[id]?.name || id).join(", ")}; periods ${o.periods.join(", ")}; now ${o.status}.` + (o.reason ? ` Reason: ${o.reason}` : "")),
    h("p", { class: "note" }, `Raised ${alert.created_at.replace("T", " ").slice(0, 16)}.`));
}
