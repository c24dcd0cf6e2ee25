// A planner's answers to a joint operation: pledge units and shifts per period, decline with a
// reason, or withdraw a proposal of one's own country. The units offered are those of the
// key's country (and of its agency, when the key names one) from GET /resources; the service
// checks the rest (reach, capacity, periods) and its problems are shown beside the form.

import { api } from "./api.js";
import { h } from "./dom.js";

// The units the key may pledge: its country's, of its agency unless it names none.
export function pledgeableUnits(me, resources) {
  return (resources?.units || [])
    .filter((u) => u.country === me.country && (!me.agency || u.agency === me.agency))
    .sort((a, b) => a.unit_id.localeCompare(b.unit_id));
}

// An error answer as a list a planner can act on: what, where (a unit by its id), and the fix.
export function problemsOf(err, sent) {
  const units = sent?.units || [];
  // "units[2].unit_id" -> "GRC-BP-01"; "units[2].shifts.2026-12-07" -> "GRC-BP-01, shifts.2026-12-07"
  const where = (field) => (field || "").replace(/^units\[(\d+)\](?:\.(.*))?$/, (all, i, rest) =>
    (units[i] ? units[i].unit_id + (rest && rest !== "unit_id" ? `, ${rest}` : "") : all));
  const problems = err.body?.problems || [];
  return h("div", { class: "problems", role: "alert" },
    h("p", {}, err.message),
    problems.length ? h("ul", { class: "problems-list" }, problems.map((p) => h("li", {},
      p.field ? h("span", { class: "where" }, `${where(p.field)}: `) : null, p.message,
      p.fix ? h("p", { class: "fix" }, `Fix: ${p.fix}`) : null))) : null);
}

// Run an act, with its button disabled; show its problems in `out`, or hand its answer on.
async function act(button, out, send, body, onDone, onFailed) {
  button.disabled = true;
  out.replaceChildren(h("p", { class: "note", role: "status" }, "Sending…"));
  try {
    const answer = await send(body);
    out.replaceChildren();
    onDone(answer);
  } catch (err) {
    if (err.status === 401) onFailed(err);
    else out.replaceChildren(problemsOf(err, body));
  } finally {
    button.disabled = false;
  }
}

// The pledge form: one number per unit and period, filled with the country's standing
// pledge of these units; `fill(suggestion)` puts a suggested pledge in it.
export function pledgeForm(op, units, standing, { onDone, onFailed }) {
  const id = op.operation_id;
  const now = new Map((standing || []).map((u) => [u.unit_id, u.shifts]));
  const out = h("div", { class: "answer-problems", "aria-live": "polite" });
  const cell = (unit, period) => h("td", {}, h("input", {
    type: "number", min: 0, max: unit.shifts_per_period, step: 1, required: true, inputmode: "numeric",
    value: now.get(unit.unit_id)?.[period] ?? 0, "data-unit-id": unit.unit_id, "data-period": period,
    "aria-label": `Shifts of ${unit.unit_id} in the period of ${period} (at most ${unit.shifts_per_period})`,
  }));
  const button = h("button", { type: "submit" }, "Pledge");
  const form = h("form", { class: "pledge", "data-operation-id": id },
    h("div", { class: "scroll" }, h("table", { class: "numbers pledge-units" },
      h("caption", {}, "Your pledge: shifts of each unit per period"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Unit"), op.periods.map((p) => h("th", { scope: "col" }, p)))),
      h("tbody", {}, units.map((u) => h("tr", { "data-unit-id": u.unit_id },
        h("th", { scope: "row" }, u.unit_id, h("br"), h("small", {}, `${u.agency}, at most ${u.shifts_per_period} a period`)),
        op.periods.map((p) => cell(u, p))))))),
    h("p", { class: "note" }, "A new pledge replaces your agency's earlier one; a unit left at 0 is not pledged."),
    button, out);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const body = { units: units.map((u) => ({
      unit_id: u.unit_id,
      shifts: Object.fromEntries(op.periods.map((p) => [p, Number(form.querySelector(`input[data-unit-id="${u.unit_id}"][data-period="${p}"]`).value)])),
    })).filter((u) => Object.values(u.shifts).some((n) => n > 0)) };
    if (!body.units.length) {
      out.replaceChildren(h("div", { class: "problems", role: "alert" }, h("p", {}, "Nothing to pledge: give at least one unit a shift, or decline below.")));
      return;
    }
    act(button, out, (b) => api.operationAct(id, "pledges", b), body, onDone, onFailed);
  });
  form.fill = (suggestion) => {
    for (const input of form.querySelectorAll("input[data-unit-id]")) input.value = 0;
    for (const { unit_id: unit, shifts } of suggestion) {
      for (const [period, n] of Object.entries(shifts)) {
        const input = form.querySelector(`input[data-unit-id="${unit}"][data-period="${period}"]`);
        if (input) input.value = n;
      }
    }
    button.focus();
  };
  return form;
}

// A reason and a button: decline (a party) or withdraw (the proposer's country).
export function reasonForm(op, kind, { label, button: text, required, onDone, onFailed }) {
  const id = `${kind}-${op.operation_id}`;
  const input = h("input", { id, type: "text", maxlength: 500, required, placeholder: required ? "" : "optional" });
  const button = h("button", { type: "submit", class: "secondary" }, text);
  const out = h("div", { class: "answer-problems", "aria-live": "polite" });
  const form = h("form", { class: `fields ${kind}`, "data-operation-id": op.operation_id },
    h("label", { for: id }, label), input, button, out);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const reason = input.value.trim();
    act(button, out, (b) => api.operationAct(op.operation_id, kind, b), reason ? { reason } : {}, onDone, onFailed);
  });
  return form;
}
