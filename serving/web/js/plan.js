// The plan view: shifts per region and period, launched joint operations outlined with
// each country's commitment, per region the assignments and why the plan stops there, a
// comparison with the uniform and proportional baselines, and an infeasible plan's diagnosis.
// Of a plan, only the regions the key reads region by region are kept (access.js).

import { SHIFTS, fmt, sequential } from "./colors.js";
import { count, facts, h, missing, options } from "./dom.js";

const ALL = "all";
// Why a plan's figures are null (serving/plan_sharing.py): they come from counts only the
// agency that made the plan may read.
const NOT_SHARED = "not shared: this plan's figures come from counts only the agency that made it reads";

// A number, or a dash that says why there is none.
function figure(value, digits, reason) {
  return Number.isFinite(value) ? fmt(value, digits) : missing(reason);
}

// Why a binding constraint limits a region, in words.
const WORDS = {
  capacity: ([unit, period]) => `${unit} works every shift it has in ${period}`,
  budget: ([period]) => `the budget of ${period} is spent`,
  floor: ([, period]) => `the minimum of shifts every region gets in ${period}`,
  share_cap: ([, period]) => `the cap on this region's share of the shifts in ${period}`,
  commitment: ([op, country, period]) => `${op}: ${country} gives the minimum it must commit in ${period}`,
  joint_limit: ([period]) => `the cap on joint operations launched in ${period}`,
  jurisdiction: ([unit]) => `${unit} may not work here`,
};

export function parseConstraint(name) {
  const match = /^([a-z_]+)\[(.*)\]$/.exec(name);
  return match ? { family: match[1], args: match[2].split(",") } : { family: name, args: [] };
}

export function planRequest(form, resources) {
  const value = (id) => form.querySelector(id).value;
  const body = { horizon: Number(value("#p-horizon")), solver: value("#p-solver") };
  const time = value("#p-time");
  if (time) body.time_limit_s = Number(time);
  // The quantile alone: an agency's key reads only its own units, and resending the
  // resources it reads would plan without the others'.
  const quantile = Number(value("#p-quantile"));
  const policy = resources?.policy?.risk_quantile;
  if (value("#p-quantile") !== "" && (policy == null || Math.abs(quantile - policy) > 1e-9)) {
    body.risk_quantile = quantile;
  }
  return body;
}

// The served model's horizon (GET /model) bounds the input: its max, a help line, and
// what to type instead of a number the service would refuse. The most, or null (unknown).
export function limitHorizon(input, help, model) {
  input.dataset.max ||= input.max; // the service's own bound, when the model says none
  const most = Number.isInteger(model?.horizon) && model.horizon > 0 ? model.horizon : null;
  input.max = String(most ?? input.dataset.max);
  const which = model?.version ? `Model version ${model.version}` : "The served model";
  if (most !== null && Number(input.value) > most) input.value = String(most);
  help.textContent = most === null ? "Periods from the next one on."
    : `1 to ${most}: ${which} forecasts at most ${count(most, "period")} ahead.`;
  const check = () => input.setCustomValidity(most !== null && Number(input.value) > most
    ? `${which} forecasts at most ${count(most, "period")} ahead: choose a horizon from 1 to ${most}.` : "");
  input.oninput = check;
  check();
  return most;
}

// A plan as the key reads it: region rows, assignments, constraint names and findings of
// the regions it reads region by region only, whatever the plan holds.
export function readablePlan(plan, access) {
  if (access.all) return plan;
  const named = (name) => !access.namesHidden(name);
  return {
    ...plan,
    regions: Array.isArray(plan.regions) ? access.keep(plan.regions) : plan.regions,
    assignments: access.keep(plan.assignments),
    binding_constraints: (plan.binding_constraints || []).filter(named),
    diagnosis: Array.isArray(plan.diagnosis)
      ? plan.diagnosis.filter((f) => named(f.constraint) && named(f.message)) : plan.diagnosis,
    findings_hidden: Array.isArray(plan.diagnosis)
      ? plan.diagnosis.some((f) => !named(f.constraint) || !named(f.message)) : false,
  };
}

// A plan's joint operations one row per operation and period: each operation's state in a
// period with its id beside it.
function operationRows(plan) {
  return (plan.joint_operations || []).flatMap((o) =>
    (o.periods || []).map((p) => ({ ...p, operation_id: o.operation_id })));
}

export class PlanView {
  constructor({ regions, access, resources, elements }) {
    this.regions = regions;
    this.access = access;
    this.operations = new Map((resources?.joint_operations || []).map((o) => [o.operation_id, o.regions]));
    this.units = new Map((resources?.units || []).map((u) => [u.unit_id, u]));
    this.el = elements; // result, period, summary, operations, message, links
    this.plan = null;
  }

  // Whether the plan shown has shifts to draw (an infeasible plan has none).
  get drawable() {
    return Boolean(this.plan && this.plan.status !== "infeasible" && Array.isArray(this.plan.regions));
  }

  get period() {
    return this.el.period.value || ALL;
  }

  // Show a plan (a PlanResponse) or a diagnosis (a 422 body, or a stored infeasible plan).
  render(plan) {
    plan = readablePlan(plan, this.access);
    this.plan = plan;
    this.el.result.hidden = !this.drawable;
    // Taskings are of stored plans: every plan the service made has an id.
    if (this.el.links) this.el.links.hidden = !plan.plan_id;
    this.el.message.replaceChildren();
    if (!this.drawable) {
      this.el.message.append(diagnosis(plan));
      return;
    }
    options(this.el.period, [[ALL, `All ${count(plan.periods.length, "period")}`], ...plan.periods.map((p) => [p, p])], ALL);
    this.el.summary.replaceChildren(summary(plan));
    this.el.operations.replaceChildren(this.operationList());
  }

  launched(period = this.period) {
    return operationRows(this.plan).filter((o) => o.launched && (period === ALL || o.period === period));
  }

  names(ids) {
    return ids.map((id) => this.regions[id]?.name || id).join(", ");
  }

  // The regions of a launched operation the key reads where the plan sends shifts in its
  // period: the ones outlined on the map.
  worked(op) {
    return (this.operations.get(op.operation_id) || [])
      .filter((id) => this.access.reads(id) && this.rowsOf(id, op.period).some((r) => r.shifts > 0));
  }

  operationList() {
    const launched = this.launched(ALL);
    const where = (o) => {
      const all = this.operations.get(o.operation_id);
      if (!all) return "";
      const worked = this.worked(o);
      const idle = all.filter((id) => this.access.reads(id) && !worked.includes(id));
      const unread = all.length - worked.length - idle.length;
      return ` — shifts in ${worked.length ? this.names(worked) : "none of the regions you read"}` +
        (idle.length ? `; none in ${this.names(idle)}` : "") +
        (unread ? `; ${count(unread, "region")} read only as country totals` : "");
    };
    return h("div", {},
      launched.length ? h("div", {},
        h("h3", {}, "Joint operations launched"),
        h("ul", {}, launched.map((o) => h("li", { "data-operation-id": o.operation_id },
          h("strong", {}, o.operation_id), ` (${o.period}): `,
          Object.entries(o.commitments).map(([c, n]) => `${c} ${count(n, "shift")}`).join(", "),
          where(o)))))
        : h("p", { class: "note" }, "No joint operation is launched."),
      this.notLaunched());
  }

  // Each operation not launched, and why, its periods together when the reason is the same.
  notLaunched() {
    const why = new Map();
    for (const o of operationRows(this.plan)) {
      if (o.launched || !o.reason) continue;
      const key = `${o.operation_id}\u0000${o.reason}`;
      if (!why.has(key)) why.set(key, { id: o.operation_id, reason: o.reason, periods: [] });
      why.get(key).periods.push(o.period);
    }
    if (!why.size) return null;
    return h("div", {},
      h("h3", {}, "Not launched"),
      h("ul", {}, [...why.values()].map((w) => h("li", {},
        h("strong", {}, w.id), ` (${w.periods.join(", ")}): ${w.reason}`))));
  }

  rowsOf(regionId, period = this.period) {
    return (this.plan.regions || []).filter((r) => r.region_id === regionId && (period === ALL || r.period === period));
  }

  shifts(regionId) {
    return this.rowsOf(regionId).reduce((n, r) => n + r.shifts, 0);
  }

  paint() {
    const ids = Object.keys(this.regions);
    const values = new Map(ids.map((id) => [id, this.shifts(id)]));
    const scale = sequential([...values.values()], { palette: SHIFTS, zero: true, digits: 0 });
    const outlined = new Set(this.launched().flatMap((o) => this.worked(o)));
    const when = this.period === ALL ? "all periods" : this.period;
    return {
      fill: (id) => scale.colour(values.get(id)),
      describe: (id) => `${this.regions[id].name || id} (${this.regions[id].country}): ${count(values.get(id), "shift")}` +
        (outlined.has(id) ? ", in a launched joint operation" : ""),
      outlined,
      legend: {
        title: `Shifts planned, ${when}`,
        classes: scale.classes,
        outline: outlined.size ? "inside a launched joint operation" : null,
        note: `Plan ${this.plan.plan_id ? this.plan.plan_id.slice(0, 8) : ""} · ${this.plan.status}`,
      },
      caption: `Plan map: shifts per region, ${when}; ${count(outlined.size, "region")} in launched joint operations.`,
    };
  }

  details(regionId) {
    const region = this.regions[regionId];
    const period = this.period;
    const rows = this.rowsOf(regionId);
    // A plan another agency made has no figures (null): say so, do not add them up as 0.
    const sum = (key) => (rows.some((r) => r[key] == null) ? null : rows.reduce((n, r) => n + r[key], 0));
    const periods = new Set(rows.map((r) => r.period));
    const assignments = (this.plan.assignments || [])
      .filter((a) => a.region_id === regionId && periods.has(a.period) && a.shifts > 0);
    const working = new Set(assignments.map((a) => a.unit_id));
    const limits = (this.plan.binding_constraints || []).map(parseConstraint).filter(({ family, args }) => {
      const inPeriod = (p) => periods.has(p);
      switch (family) {
        case "capacity": return working.has(args[0]) && inPeriod(args[1]);
        case "budget": case "joint_limit": return inPeriod(args[0]);
        case "floor": case "share_cap": return args[0] === regionId && inPeriod(args[1]);
        case "commitment": return inPeriod(args[2]) && (this.operations.get(args[0]) || []).includes(regionId);
        case "jurisdiction": return args[1] === regionId;
        default: return false;
      }
    });
    const when = period === ALL ? `all ${count(periods.size, "period")}` : period;
    const joint = this.launched().filter((o) => this.worked(o).includes(regionId));
    // Region shifts count every unit; the assignments listed are the key's country's own
    // units (serving/plan_sharing.py): the rest is one line per period, so the two agree.
    const others = [...periods].sort().map((p) => ({
      period: p,
      shifts: this.rowsOf(regionId, p).reduce((n, r) => n + r.shifts, 0) -
        assignments.filter((a) => a.period === p).reduce((n, a) => n + a.shifts, 0),
    })).filter((o) => o.shifts > 0);
    const withheld = rows.some((r) => r.expected_interdictions == null);
    return h("div", { class: "region-view", "data-region-id": regionId },
      h("h3", {}, region.name || regionId),
      h("p", { class: "note" }, `${regionId} · ${region.country} · ${when}`),
      facts([
        ["Shifts", figure(sum("shifts"), 0, "no period of this region in the plan")],
        ["Effective effort", figure(sum("effort"), 1, "no period of this region in the plan")],
        ["Expected activity", figure(sum("expected_activity"), 1, withheld ? NOT_SHARED : "no period of this region in the plan")],
        ["Expected interdictions", figure(sum("expected_interdictions"), 2, withheld ? NOT_SHARED : "no period of this region in the plan")],
        ["Value of one more shift", withheld ? missing(NOT_SHARED)
          : rows.map((r) => `${fmt(r.marginal_value, 3)} (${r.period})`).join("; ") || missing("no period of this region in the plan")],
      ]),
      withheld ? h("p", { class: "note withheld-figures" }, "–: not shared. A plan another agency made shows its decisions (shifts, effort, your units' assignments) but not its figures, which come from counts only that agency reads.") : null,
      joint.length ? h("p", {}, "Joint operation: ",
        joint.map((o) => `${o.operation_id} (${o.period}) — ${Object.entries(o.commitments).map(([c, n]) => `${c} ${n}`).join(", ")}`).join("; ")) : null,
      h("table", { class: "numbers assignments" },
        h("caption", {}, others.length ? "Assignments by unit: your country's units, then the others' shifts" : "Assignments by unit"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Unit"), h("th", { scope: "col" }, "Period"), h("th", { scope: "col" }, "Shifts"))),
        h("tbody", {}, assignments.length || others.length
          ? [
            ...assignments.map((a) => h("tr", {}, h("td", {}, a.unit_id + (this.units.has(a.unit_id) ? ` (${this.units.get(a.unit_id).agency})` : "")), h("td", {}, a.period), h("td", {}, a.shifts))),
            ...others.map((o) => h("tr", { class: "others", title: "Units of other countries: which ones is not shared with your country" },
              h("td", {}, "Other countries' units (not shared)"), h("td", {}, o.period), h("td", {}, o.shifts))),
          ]
          : h("tr", {}, h("td", { colspan: 3 }, "No unit works here.")))),
      h("h4", {}, "What stops the plan sending more"),
      limits.length
        ? h("ul", { class: "limits" }, limits.map(({ family, args }) => h("li", {},
          (WORDS[family] || (() => family))(args), " ", h("code", {}, `${family}[${args.join(",")}]`))))
        : h("p", { class: "note" }, "No binding constraint names this region, its units or its periods."),
    );
  }
}

function summary(plan) {
  const gain = (base) => (Number.isFinite(base) && base > 0 ? ` — this plan ${plan.objective >= base ? "+" : ""}${fmt(100 * (plan.objective / base - 1), 1)}%` : "");
  const { uniform, proportional } = plan.baselines || {};
  return h("div", {},
    h("h3", {}, "Summary"),
    facts([
      ["Status", plan.status],
      ["Planned by", planner(plan)],
      ["Expected interdictions", figure(plan.objective, 1, NOT_SHARED)],
      ["Uniform shifts would give", Number.isFinite(uniform) ? `${fmt(uniform, 1)}${gain(uniform)}` : missing(NOT_SHARED)],
      ["Current practice (proportional)", Number.isFinite(proportional) ? `${fmt(proportional, 1)}${gain(proportional)}` : missing(NOT_SHARED)],
      ["Optimality gap", Number.isFinite(plan.gap) ? `${fmt(100 * plan.gap, 2)}%`
        : missing(Number.isFinite(plan.objective) ? "the solver reported no gap" : NOT_SHARED)],
      ["Solver", `${plan.solver}, ${fmt(plan.solve_seconds, 2)} s`],
      ["Periods", plan.periods.join(", ")],
      ["Made", `${(plan.created_at || "").replace("T", " ").slice(0, 19)}${plan.model ? `, model ${plan.model.name} v${plan.model.version}` : ""}`],
    ]),
    (plan.warnings || []).length ? h("ul", { class: "warnings" }, plan.warnings.map((w) => h("li", {}, w))) : null,
  );
}

// Whose plan it is: an agency's or a country's binds its units; the operator's binds no one.
function planner(plan) {
  const c = plan.command || {};
  if (!c.country) return "the operator — a central proposal, binding on no agency";
  return c.scope === "national" || !c.agency ? `${c.country} (every unit of the country)` : `${c.country} ${c.agency}`;
}

const FIRST_FINDINGS = 6; // the rest fold away: a floor nobody can meet names every region

function diagnosis(body) {
  const findings = body.diagnosis || [];
  const item = (f) => h("li", {}, `${f.message} — short by ${fmt(f.shortfall, 1)} ${f.unit} `, h("code", {}, f.constraint));
  const rest = findings.slice(FIRST_FINDINGS);
  return h("div", { class: "diagnosis" },
    h("h3", {}, "No plan meets every constraint"),
    h("p", {}, findings.length ? "What cannot be met, and by how much:" : (body.error || "The solver found no plan.")),
    h("ul", {}, findings.slice(0, FIRST_FINDINGS).map(item)),
    rest.length ? h("details", {}, h("summary", {}, `${rest.length} more`), h("ul", {}, rest.map(item))) : null,
    body.findings_hidden ? h("p", { class: "note" }, "Findings on regions this key reads only as country totals are not shown.") : null,
    body.plan_id ? h("p", { class: "note" }, `Stored as plan ${body.plan_id}.`) : null,
  );
}
