// The joint operations the key's country is party to (GET /operations), in lists: proposals
// awaiting its answer (with their value to it, a pledge form and a decline), open ones it
// answered, its own proposals (with every party's answer, and a withdraw), and the confirmed
// schedule. Showing
// one outlines its regions on the map, labelled with its name. Analysts read the lists only;
// an operator key (no country) answers for no one and reads every operation.

import { api } from "./api.js";
import { NONE } from "./colors.js";
import { count, facts, h } from "./dom.js";
import { operationFacts, operationName, partiesTable, regionName, unitsList } from "./opcard.js";
import { valueBlock } from "./opvalue.js";
import { pledgeableUnits, pledgeForm, reasonForm } from "./pledge.js";

const CONFIRMED = "#1d91c0";
const OPEN = "#fdb863";
const SHOWN = "#7b3294";

export class OperationsView {
  // el: awaiting, answered, mine, confirmed (lists), note; onShow(): repaint the map;
  // onFailed(err): a refused key (401) and other failures outside a form.
  constructor({ me, regions, access, resources, el, onShow, onFailed }) {
    this.me = me;
    this.country = me.country ?? null;
    this.planner = me.may.includes("plan") && this.country !== null;
    this.regions = regions;
    this.access = access;
    this.units = pledgeableUnits(me, resources);
    this.el = el;
    this.onShow = onShow;
    this.onFailed = onFailed;
    this.operations = [];
    this.selected = null;
    this.loaded = false;
  }

  async load() {
    const { operations } = await api.operations();
    this.operations = operations;
    if (!operations.some((o) => o.operation_id === this.selected)) this.selected = null;
    this.loaded = true;
    this.render();
  }

  party(op) {
    return op.parties.find((p) => p.country === this.country) || null;
  }

  // Open, and the country has not answered or its pledge falls short (the operator: any party).
  due(op) {
    if (this.country === null) return op.parties.some((p) => p.answer === "awaiting");
    const mine = this.party(op);
    return mine?.answer === "awaiting" || (mine?.answer === "pledged" && mine.lacks.length > 0);
  }

  open(due) {
    return this.operations.filter((o) => o.status === "open" && this.due(o) === due)
      .sort((a, b) => (a.deadline || "").localeCompare(b.deadline || ""));
  }

  get awaiting() {
    return this.open(true);
  }

  get answered() {
    return this.open(false);
  }

  get mine() {
    return this.operations.filter((o) => (o.proposed_by.country ?? null) === this.country);
  }

  get confirmed() {
    return this.operations.filter((o) => o.status === "confirmed").sort((a, b) => a.periods[0].localeCompare(b.periods[0]));
  }

  render() {
    this.el.note.textContent = this.country === null
      ? "An operator key answers for no country: the parties' planners pledge and decline. Every operation is listed."
      : this.planner ? "" : "Read only: your country's planners pledge, decline and withdraw.";
    const fill = (list, items, empty, card) => {
      list.replaceChildren(...items.map(card));
      if (!items.length) list.append(h("li", { class: "empty note" }, empty));
      list.dataset.listed = String(Number(list.dataset.listed || 0) + 1);
    };
    fill(this.el.awaiting, this.awaiting, this.country === null ? "No proposal awaits an answer." : "No proposal awaits your answer.", (o) => this.awaitingCard(o));
    fill(this.el.answered, this.answered, "No open operation you answered waits for the others.", (o) => this.awaitingCard(o));
    fill(this.el.mine, this.mine, this.country === null ? "The operator proposed no operation." : "Your country proposed no operation.", (o) => this.proposalCard(o));
    fill(this.el.confirmed, this.confirmed, "No confirmed operation.", (o) => this.confirmedCard(o));
  }

  card(op, ...body) {
    const shown = this.selected === op.operation_id;
    return h("li", { class: `operation${shown ? " shown" : ""}`, "data-operation-id": op.operation_id, "data-status": op.status },
      h("h4", {}, operationName(op), " ", h("span", { class: `status ${op.status}` }, op.status)),
      operationFacts(op, this.regions),
      h("button", { type: "button", class: "link show", "aria-pressed": String(shown), onclick: () => this.show(op.operation_id) },
        shown ? "Shown on the map" : "Show on the map"),
      ...body);
  }

  // Reload the lists after an act, and say what happened.
  done(words) {
    return (op) => this.load().then(() => {
      this.el.note.textContent = `${op.operation_id}: ${words} — now ${op.status}.`;
      this.onShow();
    }).catch(this.onFailed);
  }

  // An open operation: its value to the country and, for a planner, a pledge (a new one
  // replaces the agency's) unless the country declined, and a decline until it answered.
  awaitingCard(op) {
    const answer = this.party(op)?.answer;
    const pledging = this.planner && answer !== "declined";
    const form = pledging && this.units.length
      ? pledgeForm(op, this.units, this.party(op)?.units, { onDone: this.done("pledged"), onFailed: this.onFailed })
      : null;
    const answers = pledging ? [
      h("h5", {}, answer === "pledged" ? "Change your pledge" : "Pledge"),
      form || h("p", { class: "note" }, "The service knows no unit of your agency (GET /resources): there is nothing to pledge."),
    ] : [];
    if (this.planner && answer === "awaiting") {
      answers.push(h("h5", {}, "Or decline"),
        reasonForm(op, "decline", { label: "Why your country declines", button: "Decline", required: true, onDone: this.done("declined"), onFailed: this.onFailed }));
    }
    return this.card(op, partiesTable(op, this.country),
      this.country === null ? null : valueBlock(op, { onUse: form ? (s) => form.fill(s) : null, onFailed: this.onFailed }),
      ...answers);
  }

  proposalCard(op) {
    const withdraw = this.planner && op.status === "open"
      ? reasonForm(op, "withdraw", { label: "Why you withdraw it", button: "Withdraw", required: true, onDone: this.done("withdrawn"), onFailed: this.onFailed })
      : null;
    return this.card(op, partiesTable(op, this.country), withdraw);
  }

  confirmedCard(op) {
    return this.card(op, h("h5", {}, "Pledged units"),
      h("ul", { class: "plain pledges" }, op.parties.map((p) => h("li", { "data-country": p.country },
        h("strong", {}, p.country), ": ", unitsList(p) || Object.entries(p.pledged).map(([period, n]) => `${count(n, "shift")} in ${period}`).join(", ")))));
  }

  // Show an operation on the map (again: hide it); the cards stay as they are, forms and all.
  show(id) {
    this.selected = this.selected === id ? null : id;
    const { awaiting, answered, mine, confirmed } = this.el;
    for (const card of [awaiting, answered, mine, confirmed].flatMap((list) => [...list.querySelectorAll("li.operation")])) {
      const on = card.dataset.operationId === this.selected;
      const button = card.querySelector("button.show");
      card.classList.toggle("shown", on);
      button.setAttribute("aria-pressed", String(on));
      button.textContent = on ? "Shown on the map" : "Show on the map";
    }
    this.onShow();
  }

  of(regionId) {
    return this.operations.filter((o) => o.regions.includes(regionId) && ["open", "confirmed"].includes(o.status));
  }

  paint() {
    const chosen = this.operations.find((o) => o.operation_id === this.selected);
    const outlined = new Set((chosen?.regions || []).filter((id) => this.access.reads(id)));
    const state = (id) => {
      if (outlined.has(id)) return SHOWN;
      const here = this.of(id);
      return here.some((o) => o.status === "confirmed") ? CONFIRMED : here.length ? OPEN : NONE;
    };
    const name = (id) => this.regions[id].name || id;
    return {
      fill: state,
      describe: (id) => `${name(id)} (${this.regions[id].country}): ` +
        (this.of(id).map((o) => `${o.operation_id} ${o.status}`).join(", ") || "no joint operation"),
      outlined,
      label: chosen ? { text: operationName(chosen), regions: [...outlined] } : null,
      legend: {
        title: "Joint operations",
        classes: [
          chosen ? { colour: SHOWN, label: `${operationName(chosen)}, shown` } : null,
          { colour: CONFIRMED, label: "in a confirmed operation" },
          { colour: OPEN, label: "in an open proposal" },
          { colour: NONE, label: "no joint operation" },
        ].filter(Boolean),
        outline: chosen ? `the regions of ${chosen.operation_id}` : null,
        note: chosen ? null : "Show an operation to outline its regions.",
      },
      caption: chosen ? `Operations map: ${operationName(chosen)} outlined in ${count(outlined.size, "region")}.` : "Operations map.",
    };
  }

  details(regionId) {
    const region = this.regions[regionId];
    const here = this.of(regionId);
    return h("div", { class: "region-view", "data-region-id": regionId },
      h("h3", {}, region.name || regionId),
      facts([["Region", regionName(regionId, this.regions)], ["Kind", (region.kind || "").replaceAll("_", " ")]]),
      here.length
        ? h("ul", {}, here.map((o) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => this.show(o.operation_id) }, operationName(o)),
          ` — ${o.status}, ${o.periods.join(", ")}`)))
        : h("p", { class: "note" }, "No open or confirmed joint operation works here."));
  }
}
