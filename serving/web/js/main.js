// The page: sign in with an API key, then the views the key's role may use — forecast and
// plan for planners, stored plans for analysts, an upload for reporters, alerts for every
// key, the joint operations of the key's country for analysts and planners — around one map
// of the regions. In every view, a region the key does not read region
// by region is drawn at country level, and opening it shows its country's latest total.

import { Access } from "./access.js";
import { AlertsView } from "./alerts.js";
import { ApiError, api, config, forgetKey, savedKey, saveKey } from "./api.js";
import { count, facts, h, options } from "./dom.js";
import { ForecastView } from "./forecast.js";
import { compare, fillCompare } from "./compare.js";
import { listPlans } from "./history.js";
import { COUNTRY_LEVEL, drawLegend, RegionMap } from "./map.js";
import { OperationsView } from "./operations.js";
import { PlanView, limitHorizon, planRequest } from "./plan.js";
import { downloadTasking, printTasking } from "./tasking.js";
import { SubmitView } from "./submit.js";
import { CountryTotals } from "./totals.js";

const $ = (selector) => document.querySelector(selector);
const state = {
  me: null, view: null, map: null, regions: {}, resources: null, access: null, horizon: null,
  forecast: null, plan: null, alerts: null, totals: null, submit: null, operations: null, selected: null,
};

function say(text) {
  $("#status").textContent = text;
}

function signInMessage(err) {
  if (err.status === 401) {
    return "This key is not known to the service. Check that you pasted the whole key, " +
      "or ask your administrator for one (crossplan keys add).";
  }
  return err.message;
}

function showSignIn(message = "") {
  document.body.dataset.state = "signed-out";
  $("#app").hidden = true;
  $("#who").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-message").textContent = message;
  $("#key").focus();
}

// Any 401 after signing in means the key was revoked: back to the sign-in form.
function failed(where) {
  return (err) => {
    if (err instanceof ApiError && err.status === 401) {
      forgetKey();
      showSignIn("Your key is no longer accepted. Sign in with a valid key.");
      return;
    }
    const problems = (err.body?.problems || []).map((p) => `${p.field ? p.field + ": " : ""}${p.message}`);
    where.replaceChildren(h("span", {}, err.message), problems.length ? h("ul", {}, problems.map((p) => h("li", {}, p))) : "");
  };
}

// A call the key's role may not make (403), or that has nothing to give (404): null.
function optional(request) {
  return request.catch((err) => (err.status === 403 || err.status === 404 ? null : Promise.reject(err)));
}

async function enter(me) {
  state.me = me;
  document.body.dataset.state = "signed-in";
  document.body.dataset.role = me.role;
  $("#sign-in").hidden = true;
  $("#app").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = `${me.name} (${[me.role, me.country, me.agency].filter(Boolean).join(", ")})`;
  const may = (what) => me.may.includes(what);
  $("#tab-forecast").hidden = !may("plan");
  $("#plan-form").hidden = !may("plan");
  $("#tab-plan").hidden = !may("read");
  $("#tab-history").hidden = !may("read");
  $("#tab-submit").hidden = !may("submit");
  $("#tab-operations").hidden = !may("read"); // a reporter's key reads no operation

  const [cfg, regions, countries, resources, model] = await Promise.all([
    config(),
    optional(api.regions()), // every role reads the shapes (no counts in them)
    optional(api.countries()), // and the borders dissolved from them
    may("read") ? optional(api.resources()) : null,
    may("plan") ? optional(api.model()).catch(() => null) : null, // its horizon bounds the forms
  ]);
  state.horizon = limitHorizon($("#p-horizon"), $("#p-horizon-help"), model);
  state.resources = resources;
  state.regions = regions ? Object.fromEntries(regions.features.map((f) => [f.properties.region_id, f.properties])) : {};
  state.access = new Access(me, regions ? state.regions : null, resources);
  $("#who-access").textContent = state.access.all ? "" : state.access.summary();
  if (resources) $("#p-quantile").value = resources.policy.risk_quantile;
  state.map?.remove(); // signing in again after a key was refused
  state.map = null;
  state.selected = null;
  document.body.dataset.map = regions ? "shown" : "none";
  $(".map-area").hidden = !regions;
  $("#details").hidden = !regions;
  if (regions) {
    options($("#region-select"), [["", "Choose a region…"], ...Object.values(state.regions)
      .sort((a, b) => (a.name || a.region_id).localeCompare(b.name || b.region_id))
      .map((r) => [r.region_id, `${r.name || r.region_id} (${r.country})${state.access.reads(r.region_id) ? "" : " — country totals"}`])], "");
    state.map = new RegionMap($("#map"), regions, {
      countries,
      tileUrl: cfg.tile_url,
      tileAttribution: cfg.tile_attribution,
      onSelect: select,
    });
  }
  const { access } = state;
  state.totals = new CountryTotals(access);
  state.forecast = new ForecastView({ regions: state.regions, access, form: $("#forecast-form"), modelNote: $("#forecast-model"), warnings: $("#forecast-warnings") });
  state.plan = new PlanView({
    regions: state.regions,
    access,
    resources,
    elements: { result: $("#plan-result"), period: $("#p-period"), summary: $("#plan-summary"), operations: $("#plan-operations"), message: $("#plan-message"), links: $("#plan-links") },
  });
  state.alerts = new AlertsView({ regions: state.regions, access, list: $("#alerts"), empty: $("#alerts-empty"), onOpen: regions ? (id) => select(id) : null });
  state.submit = new SubmitView({
    el: {
      form: $("#submit-form"), file: $("#s-file"), button: $("#s-submit"), progress: $("#submit-progress"),
      message: $("#submit-message"), receipt: $("#submit-receipt"), problems: $("#submit-problems"),
    },
    types: cfg.submission_types || {},
    maxBytes: cfg.max_body_bytes,
    onSubmitted: (receipt) => say(receipt.duplicate ? "Already received: nothing new stored" : `Received: ${count(receipt.new, "new cell")}, ${count(receipt.corrected, "corrected cell")}`),
    onError: (err) => failed($("#submit-message"))(err),
  });
  state.operations = new OperationsView({
    me, regions: state.regions, access, resources,
    el: { awaiting: $("#operations-awaiting"), answered: $("#operations-answered"), mine: $("#operations-mine"), confirmed: $("#operations-confirmed"), note: $("#operations-note") },
    onShow: repaint,
    onFailed: failed($("#operations-message")),
  });
  state.submit.clear(); // nothing of a key signed in before
  await show(may("plan") ? "forecast" : may("read") ? "history" : may("submit") ? "submit" : "alerts");
}

async function show(view) {
  const widthChanged = (state.view === "operations") !== (view === "operations");
  state.view = view;
  document.body.dataset.view = view;
  if (widthChanged) state.map?.invalidate(); // the operations view has a wider column
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !on;
  }
  if (view === "forecast" && !state.forecast.periods.length) {
    $("#forecast-model").textContent = "Loading the forecast…";
    try {
      await state.forecast.load(Math.min(4, state.horizon ?? 4));
    } catch (err) {
      failed($("#forecast-model"))(err); // e.g. no model yet: the map shows the bare regions
    }
  }
  if (view === "history") {
    const plans = await listPlans($("#history tbody"), { onOpen: openPlan, regions: state.regions, access: state.access, onError: failed($("#history-message")) });
    fillCompare($("#compare-form"), plans);
  }
  if (view === "alerts") {
    $("#alerts-message").replaceChildren();
    try {
      await state.alerts.load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) $("#alerts-message").textContent = "This service does not list alerts to this key's role.";
      else failed($("#alerts-message"))(err);
    }
  }
  if (view === "operations") {
    $("#operations-message").replaceChildren();
    try {
      await state.operations.load();
    } catch (err) {
      failed($("#operations-message"))(err);
    }
  }
  repaint();
  if (view === "forecast" && state.forecast.periods.length && !window.crossplanTimings) {
    window.crossplanTimings = { firstView: performance.now() };
    document.body.dataset.firstView = String(Math.round(window.crossplanTimings.firstView));
  }
}

// The painter of what is on the map now: the forecast, alerts, a plan, or the bare regions.
function painter() {
  if (state.view === "forecast") return state.forecast.periods.length ? state.forecast : null;
  if (state.view === "alerts") return state.alerts.loaded ? state.alerts : null;
  if (state.view === "submit") return null;
  if (state.view === "operations") return state.operations.loaded ? state.operations : null;
  if (state.plan.drawable) return state.plan;
  return null;
}

function bareNote() {
  if (state.view === "forecast") return "No forecast to show.";
  if (state.view === "alerts") return "No alerts to show.";
  if (state.view === "submit") return "Send a file of your country's rows.";
  if (state.view === "operations") return "No joint operation to show.";
  if (state.view === "plan" && state.me.may.includes("plan")) return "Make a plan, or open one under History.";
  return "Open a stored plan under History to see it on the map.";
}

// Whatever a view paints, a region the key does not read region by region is drawn at
// country level: no colour of its own, no number in its label.
function guarded(paint) {
  const { access, regions } = state;
  if (Object.keys(regions).every((id) => access.reads(id))) return paint;
  const country = (id) => regions[id].country;
  return {
    ...paint,
    fill: (id) => (access.reads(id) ? paint.fill(id) : COUNTRY_LEVEL),
    describe: (id) => (access.reads(id) ? paint.describe(id)
      : `${regions[id].name || id} (${country(id)}): read only as ${country(id)}'s total; open it for the latest`),
    outlined: new Set([...(paint.outlined || [])].filter((id) => access.reads(id))),
    legend: { ...paint.legend, countryLevel: "read only as its country's total: open one for the latest" },
  };
}

function repaint() {
  if (!state.map) return;
  const view = painter();
  const paint = guarded(view ? view.paint() : {
    fill: () => "#e8e8e8",
    describe: (id) => `${state.regions[id].name || id} (${state.regions[id].country})`,
    legend: { title: "Regions", classes: [], note: bareNote() },
    caption: "Map of the regions.",
  });
  state.map.paint(paint);
  const layers = new Map([[state.forecast, "forecast"], [state.alerts, "alerts"], [state.operations, "operations"]]);
  state.map.element.dataset.layer = view ? layers.get(view) || "plan" : "regions";
  drawLegend($("#legend"), { ...paint.legend, borders: Boolean(state.map.borders) });
  $("#map-caption").textContent = paint.caption;
  if (state.selected) select(state.selected, { quiet: true });
}

function select(regionId, { quiet = false } = {}) {
  if (!state.map) return;
  state.selected = regionId || null;
  $("#region-select").value = regionId || "";
  if (!regionId) {
    state.map.select([]);
    return;
  }
  const region = state.regions[regionId];
  if (!state.access.reads(regionId)) {
    // A country read as its total: the whole of it is chosen, and its total shown.
    state.map.select(state.access.countryLevel(region.country).map((r) => r.region_id));
    $("#region-details").replaceChildren(state.totals.details(region.country, regionId, (err) => failed($("#status"))(err)));
    if (!quiet) say(`${region.country} selected: country totals`);
    return;
  }
  state.map.select([regionId]);
  const view = painter();
  $("#region-details").replaceChildren(view ? view.details(regionId)
    : h("div", { class: "region-view", "data-region-id": regionId }, h("h3", {}, region.name || regionId),
      facts([["Region", regionId], ["Country", region.country], ["Kind", (region.kind || "").replaceAll("_", " ")]])));
  if (!quiet) say(`${region.name || regionId} selected`);
}

function openPlan(plan) {
  state.plan.render(plan);
  show("plan");
  say(`Plan ${plan.plan_id} opened`);
}

async function makePlan(event) {
  event.preventDefault();
  const form = $("#plan-form");
  if (!form.reportValidity()) return;
  const body = planRequest(form, state.resources);
  const button = $("#p-submit");
  const progress = $("#plan-progress");
  const started = performance.now();
  const limit = body.time_limit_s || state.resources?.policy?.time_limit_s || 30;
  const tick = () => {
    $("#plan-progress-text").textContent = `Solving… ${Math.round((performance.now() - started) / 1000)} s (time limit ${limit} s)`;
  };
  tick();
  const timer = setInterval(tick, 500);
  button.disabled = true;
  progress.hidden = false;
  document.body.dataset.planning = "true";
  $("#plan-message").replaceChildren();
  try {
    const plan = await api.plan(body);
    state.plan.render(plan);
    say(`Plan made: ${plan.status}, ${count(Math.round(plan.objective), "expected interdiction")}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 422 && err.body.diagnosis) {
      state.plan.render({ ...err.body, status: "infeasible" });
      say("No plan meets every constraint");
    } else {
      failed($("#plan-message"))(err);
    }
  } finally {
    clearInterval(timer);
    button.disabled = false;
    progress.hidden = true;
    delete document.body.dataset.planning;
    repaint();
  }
}

function wire() {
  $("#sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("#key").value.trim();
    const button = event.target.querySelector("button[type=submit]");
    $("#sign-in-message").textContent = "Checking the key…";
    button.disabled = true;
    try {
      const me = await api.me(key);
      saveKey(key);
      $("#key").value = "";
      $("#sign-in-message").textContent = "";
      await enter(me);
    } catch (err) {
      showSignIn(signInMessage(err));
    } finally {
      button.disabled = false;
    }
  });
  $("#sign-out").addEventListener("click", () => {
    forgetKey();
    window.location.reload();
  });
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => show(tab.dataset.view).catch(failed($("#status"))));
    tab.addEventListener("keydown", (event) => {
      const visible = tabs.filter((t) => !t.hidden);
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      const next = visible[(visible.indexOf(tab) + step + visible.length) % visible.length];
      next.focus();
      next.click();
    });
  }
  $("#forecast-form").addEventListener("change", repaint);
  $("#forecast-form").addEventListener("submit", (event) => event.preventDefault());
  $("#plan-form").addEventListener("submit", makePlan);
  // The browser's bubble fades: what to type instead stays beside the form.
  $("#plan-form").addEventListener("invalid", (event) => {
    const label = $(`label[for="${event.target.id}"]`)?.textContent || event.target.id;
    $("#plan-message").textContent = `${label}: ${event.target.validationMessage}`;
  }, true);
  $("#p-period").addEventListener("change", repaint);
  $("#p-tasking-csv").addEventListener("click", () => downloadTasking(state.plan.plan.plan_id).catch(failed($("#plan-message"))));
  $("#p-tasking-print").addEventListener("click", () => printTasking(state.plan.plan.plan_id).catch(failed($("#plan-message"))));
  $("#compare-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("#compare-message").replaceChildren();
    compare($("#compare-form"), $("#compare-result")).catch(failed($("#compare-message")));
  });
  $("#region-select").addEventListener("change", (event) => select(event.target.value));
  $("#history-refresh").addEventListener("click", () => show("history").catch(failed($("#history-message"))));
  $("#alerts-refresh").addEventListener("click", () => show("alerts").catch(failed($("#alerts-message"))));
  $("#operations-refresh").addEventListener("click", () => show("operations").catch(failed($("#operations-message"))));
  $("#submit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.submit?.send();
  });
  window.addEventListener("resize", () => state.map?.invalidate());
}

async function start() {
  wire();
  const key = savedKey();
  if (!key) return showSignIn();
  try {
    await enter(await api.me(key));
  } catch (err) {
    forgetKey();
    showSignIn(signInMessage(err));
  }
}

start();
