// Stored plans, newest first: re-open one on the map, or download it as GeoJSON or CSV —
// with only the regions the key reads region by region, as on the map.

import { api } from "./api.js";
import { fmt } from "./colors.js";
import { h, missing } from "./dom.js";
import { readablePlan } from "./plan.js";

const CSV_COLUMNS = ["region_id", "name", "country", "period", "shifts", "effort",
  "expected_activity", "expected_interdictions", "marginal_value"];

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// One row per region and period of a plan, with the region's name and country.
export function planCsv(plan, regions) {
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of plan.regions || []) {
    const region = regions[row.region_id] || {};
    const full = { ...row, name: region.name, country: region.country };
    lines.push(CSV_COLUMNS.map((c) => csvCell(full[c])).join(","));
  }
  return lines.join("\n") + "\n";
}

export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// A region the key reads only as its country's total keeps its shape and no figure.
const IDENTITY = ["region_id", "country", "name", "kind"];

function readableGeojson(collection, access) {
  const bare = (f) => ({ ...f, properties: Object.fromEntries(IDENTITY.filter((k) => k in (f.properties || {})).map((k) => [k, f.properties[k]])) });
  const id = (f) => f.properties?.region_id ?? f.id;
  return { ...collection, features: (collection.features || []).map((f) => (access.reads(id(f)) ? f : bare(f))) };
}

export async function listPlans(tbody, { onOpen, regions, access, onError }) {
  const { plans } = await api.plans(50);
  tbody.replaceChildren(...plans.map((p) => {
    const when = p.created_at.replace("T", " ").slice(0, 16);
    const label = `plan of ${when} by ${p.requester}`;
    const fetchAnd = (then) => async () => {
      try {
        await then();
      } catch (err) {
        onError(err);
      }
    };
    return h("tr", { "data-plan-id": p.plan_id },
      h("td", {}, h("time", { datetime: p.created_at }, when), h("br"), p.requester),
      h("td", {}, p.status, h("br"), Number.isFinite(p.objective) ? fmt(p.objective, 1)
        : missing(p.status === "infeasible" ? "no plan met every constraint" : "not shared: made from counts only the agency that made it reads")),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "open", "aria-label": `Open the ${label} on the map`, onclick: fetchAnd(async () => onOpen(await api.storedPlan(p.plan_id))) }, "Open"),
        h("button", { type: "button", class: "geojson", "aria-label": `Download the ${label} as GeoJSON`, onclick: fetchAnd(async () => download(`plan-${p.plan_id}.geojson`, JSON.stringify(readableGeojson(await api.planGeojson(p.plan_id), access)), "application/geo+json")) }, "GeoJSON"),
        h("button", { type: "button", class: "csv", "aria-label": `Download the ${label} as CSV`, onclick: fetchAnd(async () => download(`plan-${p.plan_id}.csv`, planCsv(readablePlan(await api.storedPlan(p.plan_id), access), regions), "text/csv")) }, "CSV")));
  }));
  if (!plans.length) tbody.append(h("tr", {}, h("td", { colspan: 3 }, "No plan is stored yet.")));
  tbody.dataset.listed = String(Number(tbody.dataset.listed || 0) + 1); // a new list is shown
  return plans;
}
