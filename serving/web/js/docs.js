// The API manual: Swagger UI on the service's own OpenAPI document.
//
// Nothing here may reach another origin: the validator badge is off (it would send the
// document to validator.swagger.io), and the document's introduction, which BentoML fills
// with badges from image hosts, is replaced by ours before it is shown.
//
// Each operation carries the roles whose keys may call it ("x-crossplan-roles", which the
// service reads from the route's own permission check); a badge beside its path shows them.

const ROLES = "x-crossplan-roles";

const INTRODUCTION = [
  "Forecasts of cross-border trafficking and smuggling activity per region and period, and",
  "patrol and joint-operation plans made from them. Every endpoint except `/healthz`,",
  "`/livez` and `/readyz` needs the header `Authorization: Bearer <key>` with a key from",
  "`crossplan keys add NAME --role reporter|analyst|planner|admin [--country ISO3 --agency NAME]`.",
  "The badge beside each operation names the roles whose keys may call it: a reporter submits",
  "its country's rows; analysts, planners and admins build on each other. (`/metrics` is the",
  "admins', unless the operator serves it on a port of its own with `CROSSPLAN_METRICS`.)",
  "",
  "The map page — forecasts and plans for planners, stored plans and alerts for analysts, the",
  "upload and its alerts for reporters — is at [/](/).",
].join("\n");

// A badge after each operation's path: its roles, or that it needs no key.
function RoleBadges(system) {
  const h = system.React.createElement;
  return {
    wrapComponents: {
      OperationSummaryPath: (Original) => (props) => {
        // From the document itself: the operation Swagger UI passes is resolved only once
        // it is opened.
        const where = ["paths", props.operationProps.get("path"), props.operationProps.get("method")];
        const roles = system.specSelectors.specJson().getIn([...where, ROLES]);
        const names = roles ? roles.toJS() : null;
        const badge = h(
          "span",
          {
            className: names ? "role-badge" : "role-badge role-none",
            title: names ? `keys of these roles may call it: ${names.join(", ")}` : "no key needed",
          },
          names ? names.join(" · ") : "no key",
        );
        return h("span", { className: "summary-path-with-roles" }, h(Original, props), badge);
      },
    },
  };
}

// The document, read with the key when one is given: the examples of joint operations and
// webhooks are drawn from the served panel for that key only (none without one).
async function load(key) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const response = await fetch("/docs.json", { credentials: "omit", headers });
  const spec = await response.json();
  spec.info = { ...spec.info, description: INTRODUCTION };
  delete spec.info.contact;
  return spec;
}

// Once a key is given with "Authorize" (or taken back with "Logout"), the document is read
// again, so that "Try it out" offers bodies that key can send.
function ExamplesForTheKey(system) {
  const reload = async (key) => {
    system.specActions.updateSpec(JSON.stringify(await load(key)));
  };
  return {
    statePlugins: {
      auth: {
        wrapActions: {
          authorize: (original) => (payload) => {
            const done = original(payload);
            const key = Object.values(payload || {}).map((a) => a && a.value).find(Boolean);
            if (key) reload(key);
            return done;
          },
          logout: (original) => (payload) => {
            const done = original(payload);
            reload(null);
            return done;
          },
        },
      },
    },
  };
}

async function start() {
  window.ui = SwaggerUIBundle({
    spec: await load(null),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [RoleBadges, ExamplesForTheKey],
    layout: "BaseLayout",
  });
}

window.addEventListener("DOMContentLoaded", start);
