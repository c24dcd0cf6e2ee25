// What pledging to an open joint operation is worth to the key's country
// (GET /operations/{id}/value): the service plans the country's own units on its own view
// with and without the pledge, which takes a few seconds, so it is asked for on demand.

import { api } from "./api.js";
import { fmt } from "./colors.js";
import { facts, h } from "./dom.js";
import { problemsOf } from "./pledge.js";

function signed(value) {
  return `${value > 0 ? "+" : ""}${fmt(value, 1)}`;
}

function suggestionWords(suggested) {
  return suggested.map((u) => `${u.unit_id}: ` + Object.entries(u.shifts).map(([p, n]) => `${n} in ${p}`).join(", ")).join("; ");
}

// The answer in words; `onUse(suggestion)` fills the pledge form with the suggested pledge.
export function valueFacts(value, onUse) {
  const pledge = value.advice === "pledge";
  const suggested = value.suggested_pledge || [];
  const inside = value.in_operation_regions;
  return h("div", { class: `value ${value.advice}`, "data-advice": value.advice },
    h("p", { class: "advice" }, h("strong", {}, pledge ? "Advice: pledge" : "Advice: decline"), ` — ${value.reason}`),
    facts([
      ["With your pledge", `${fmt(value.with_pledge, 1)} ${value.unit}`],
      ["Without it", `${fmt(value.without_pledge, 1)} ${value.unit}`],
      ["Gain for your country", `${signed(value.gain)} ${value.unit}`],
      inside ? ["In the operation's regions", `${fmt(inside.with_pledge, 1)} with, ${fmt(inside.without_pledge, 1)} without`] : null,
      ["Periods planned", (value.periods || []).join(", ")],
      suggested.length ? ["Suggested pledge", suggestionWords(suggested)] : null,
    ].filter(Boolean), `What pledging is worth to ${value.country}`),
    (value.warnings || []).length ? h("ul", { class: "warnings" }, value.warnings.map((w) => h("li", {}, w))) : null,
    suggested.length && onUse ? h("button", { type: "button", class: "secondary use", onclick: () => onUse(suggested) }, "Put the suggested pledge in the form") : null);
}

// A "Compute value" button and, once asked, the answer or why there is none.
export function valueBlock(op, { onUse, onFailed }) {
  const out = h("div", { class: "value-out", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary compute" }, "Compute value");
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.replaceChildren(h("p", { class: "note", role: "status" }, "Planning your units with and without the pledge…"));
    try {
      out.replaceChildren(valueFacts(await api.operationValue(op.operation_id), onUse));
    } catch (err) {
      if (err.status === 401) onFailed(err);
      else if (err.status === 409) out.replaceChildren(h("p", { class: "message" }, `No value: ${err.message}`));
      else out.replaceChildren(problemsOf(err));
    } finally {
      button.disabled = false;
    }
  });
  return h("section", { class: "op-value", "aria-label": `Value of ${op.operation_id} to your country` },
    h("h5", {}, "What it is worth to you"), button, out);
}
