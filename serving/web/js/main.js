// The page: sign in with an API key, then the views the key's role may use — forecast and
// plan for planners, stored plans for everyone — around one map of the regions.

import { ApiError, api, config, forgetKey, savedKey, saveKey } from "./api.js";
import { facts, h, options } from "./dom.js";
import { ForecastView } from "./forecast.js";
import { listPlans } from "./history.js";
import { drawLegend, RegionMap } from "./map.js";
import { PlanView, planRequest } from "./plan.js";

const $ = (selector) => document.querySelector(selector);
const state = { me: null, view: null, map: null, regions: {}, resources: null, forecast: null, plan: null, selected: null };

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

async function enter(me) {
  state.me = me;
  document.body.dataset.state = "signed-in";
  document.body.dataset.role = me.role;
  $("#sign-in").hidden = true;
  $("#app").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = `${me.name} (${me.role})`;
  const mayPlan = me.may.includes("plan");
  $("#tab-forecast").hidden = !mayPlan;
  $("#plan-form").hidden = !mayPlan;

  const [cfg, regions, resources] = await Promise.all([
    config(),
    api.regions(),
    api.resources().catch((err) => (err.status === 404 ? null : Promise.reject(err))),
  ]);
  state.resources = resources;
  state.regions = Object.fromEntries(regions.features.map((f) => [f.properties.region_id, f.properties]));
  if (resources) $("#p-quantile").value = resources.policy.risk_quantile;
  options($("#region-select"), [["", "Choose a region…"], ...Object.values(state.regions)
    .sort((a, b) => (a.name || a.region_id).localeCompare(b.name || b.region_id))
    .map((r) => [r.region_id, `${r.name || r.region_id} (${r.country})`])], "");
  state.map?.remove(); // signing in again after a key was refused
  state.map = new RegionMap($("#map"), regions, {
    tileUrl: cfg.tile_url,
    tileAttribution: cfg.tile_attribution,
    onSelect: select,
  });
  state.forecast = new ForecastView({ regions: state.regions, form: $("#forecast-form"), modelNote: $("#forecast-model") });
  state.plan = new PlanView({
    regions: state.regions,
    resources,
    elements: { result: $("#plan-result"), period: $("#p-period"), summary: $("#plan-summary"), operations: $("#plan-operations"), message: $("#plan-message") },
  });
  await show(mayPlan ? "forecast" : "history");
}

async function show(view) {
  state.view = view;
  document.body.dataset.view = view;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !on;
  }
  if (view === "forecast" && !state.forecast.periods.length) {
    $("#forecast-model").textContent = "Loading the forecast…";
    try {
      await state.forecast.load(4);
    } catch (err) {
      failed($("#forecast-model"))(err); // e.g. no model yet: the map shows the bare regions
    }
  }
  if (view === "history") {
    await listPlans($("#history tbody"), { onOpen: openPlan, regions: state.regions, onError: failed($("#history-message")) });
  }
  repaint();
  if (view === "forecast" && state.forecast.periods.length && !window.crossplanTimings) {
    window.crossplanTimings = { firstView: performance.now() };
    document.body.dataset.firstView = String(Math.round(window.crossplanTimings.firstView));
  }
}

// The painter of what is on the map now: the forecast, a plan, or the bare regions.
function painter() {
  if (state.view === "forecast") return state.forecast.periods.length ? state.forecast : null;
  if (state.plan.drawable) return state.plan;
  return null;
}

function bareNote() {
  if (state.view === "forecast") return "No forecast to show.";
  if (state.view === "plan" && state.me.may.includes("plan")) return "Make a plan, or open one under History.";
  return "Open a stored plan under History to see it on the map.";
}

function repaint() {
  const view = painter();
  const paint = view ? view.paint() : {
    fill: () => "#e8e8e8",
    describe: (id) => `${state.regions[id].name || id} (${state.regions[id].country})`,
    legend: { title: "Regions", classes: [], note: bareNote() },
    caption: "Map of the regions.",
  };
  state.map.paint(paint);
  state.map.element.dataset.layer = view === state.forecast ? "forecast" : view ? "plan" : "regions";
  drawLegend($("#legend"), paint.legend);
  $("#map-caption").textContent = paint.caption;
  if (state.selected) select(state.selected, { quiet: true });
}

function select(regionId, { quiet = false } = {}) {
  state.selected = regionId || null;
  state.map.select(state.selected);
  $("#region-select").value = regionId || "";
  if (!regionId) return;
  const view = painter();
  const region = state.regions[regionId];
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
    say(`Plan made: ${plan.status}, ${Math.round(plan.objective)} expected interdictions`);
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
  $("#p-period").addEventListener("change", repaint);
  $("#region-select").addEventListener("change", (event) => select(event.target.value));
  $("#history-refresh").addEventListener("click", () => show("history").catch(failed($("#history-message"))));
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
