// What moved between two stored plans (GET /plans/diff), as the key reads both: per unit and
// period the regions whose shifts changed, joint operations launched in one plan only, and
// the figures where the key reads them.

import { api } from "./api.js";
import { h, options } from "./dom.js";

// The plans just listed, newest first: B the newest, A the one before.
export function fillCompare(form, plans) {
  const items = plans.map((p) => [p.plan_id, `${p.created_at.replace("T", " ").slice(0, 16)} · ${p.requester} · ${p.plan_id.slice(0, 8)}`]);
  options(form.querySelector("#c-a"), items, plans[Math.min(1, plans.length - 1)]?.plan_id);
  options(form.querySelector("#c-b"), items, plans[0]?.plan_id);
  form.hidden = plans.length === 0;
}

export async function compare(form, out) {
  const diff = await api.planDiff(form.querySelector("#c-a").value, form.querySelector("#c-b").value);
  const [title, ...lines] = diff.summary.split("\n");
  out.replaceChildren(h("div", { class: "plan-diff", "data-empty": String(diff.empty) },
    h("h4", {}, title),
    h("ul", {}, lines.map((line) => (line.endsWith(":") ? h("li", { class: "heading" }, h("strong", {}, line)) : h("li", {}, line.trim()))))));
}
