// A joint operation in words, as the key's country reads it (GET /operations): its regions
// by name, periods, who proposed it, its deadline, and each party's need, answer and what it
// pledged so far. Other parties' units are not sent to the key: their shifts per period are.

import { count, facts, h, missing } from "./dom.js";

const ANSWERS = { awaiting: "has not answered", pledged: "pledged", declined: "declined" };

// "Raka (r006, BGR)": a region by its name, with its id and country.
export function regionName(id, regions) {
  const region = regions[id];
  return region ? `${region.name || id} (${id}, ${region.country})` : id;
}

export function operationName(op) {
  return `Joint operation ${op.operation_id}`;
}

// "2026-12-07 00:00 UTC (in 8 hours)".
export function moment(iso, now = Date.now()) {
  if (!iso) return missing("no deadline set");
  const at = new Date(iso);
  const hours = Math.round((at.getTime() - now) / 3_600_000);
  const away = Math.abs(hours) < 48 ? `${Math.abs(hours)} hour${Math.abs(hours) === 1 ? "" : "s"}`
    : count(Math.round(Math.abs(hours) / 24), "day");
  const relative = hours >= 0 ? `in ${away}` : `${away} ago`;
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC (${relative})`;
}

export function who(actor) {
  if (!actor?.country) return "the operator";
  return actor.agency ? `${actor.country} (${actor.agency})` : actor.country;
}

function needWords(need) {
  const parts = Object.entries(need.by_agency || {}).map(([agency, n]) => `${n} of ${agency}`);
  return `${count(need.shifts, "shift")} a period${parts.length ? `, of them ${parts.join(", ")}` : ""}`;
}

function pledgedWords(party) {
  const given = Object.entries(party.pledged || {}).filter(([, n]) => n > 0);
  return given.length ? given.map(([period, n]) => `${n} in ${period}`).join(", ") : "nothing yet";
}

function answerWords(op, party) {
  const said = ANSWERS[party.answer] || party.answer;
  if (party.answer !== "declined") return said;
  const step = [...op.events].reverse().find((e) => e.kind === "declined" && e.party === party.country);
  return step?.reason ? `${said}: “${step.reason}”` : said;
}

// The facts of an operation: where, when, by whom, until when.
export function operationFacts(op, regions) {
  return facts([
    ["Regions", h("ul", { class: "plain regions" }, op.regions.map((id) => h("li", { "data-region-id": id }, regionName(id, regions))))],
    ["Periods", op.periods.join(", ")],
    ["Proposed by", who(op.proposed_by)],
    ["Deadline", op.status === "open" ? moment(op.deadline) : op.deadline ? `${op.deadline.slice(0, 16).replace("T", " ")} UTC; now ${op.status}` : `no deadline set; now ${op.status}`],
    ["Joint work multiplies effort by", String(op.effort_multiplier)],
  ]);
}

// One row per party: its need, its answer, what it pledged so far, what it still lacks.
export function partiesTable(op, country) {
  return h("table", { class: "parties" },
    h("caption", {}, "Parties: need, answer and pledges so far"),
    h("thead", {}, h("tr", {}, ["Country", "Need", "Answer", "Pledged so far", "Still lacks"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, op.parties.map((p) => h("tr", { "data-country": p.country, "data-answer": p.answer },
      h("th", { scope: "row" }, p.country === country ? `${p.country} (you)` : p.country),
      h("td", {}, needWords(p.need)),
      h("td", {}, answerWords(op, p)),
      h("td", { class: "pledged" }, pledgedWords(p)),
      h("td", {}, p.lacks.length ? p.lacks.join("; ") : "nothing")))));
}

// The units a party pledged, unit by unit (the key's own country only: others' are not sent).
export function unitsList(party) {
  if (!party?.units?.length) return null;
  return h("ul", { class: "plain units" }, party.units.map((u) => h("li", { "data-unit-id": u.unit_id },
    `${u.unit_id} (${u.agency}): `,
    Object.entries(u.shifts).filter(([, n]) => n > 0).map(([period, n]) => `${n} in ${period}`).join(", ") || "no shift")));
}
