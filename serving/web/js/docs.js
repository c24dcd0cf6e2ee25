// The API manual: Swagger UI on the service's own OpenAPI document.
//
// Nothing here may reach another origin: the validator badge is off (it would send the
// document to validator.swagger.io), and the document's introduction, which BentoML fills
// with badges from image hosts, is replaced by ours before it is shown.

const INTRODUCTION = [
  "Forecasts of cross-border trafficking and smuggling activity per region and period, and",
  "patrol and joint-operation plans made from them. Every endpoint except `/healthz`, `/readyz`",
  "and `/metrics` needs the header `Authorization: Bearer <key>` with a key from",
  "`crossplan keys add NAME --role reporter|analyst|planner|admin [--country ISO3 --agency NAME]`:",
  "a reporter submits its country's rows; analysts, planners and admins build on each other.",
  "",
  "The map page — forecasts and plans for planners, stored plans and alerts for analysts, the",
  "upload and its alerts for reporters — is at [/](/).",
].join("\n");

async function start() {
  const response = await fetch("/docs.json", { credentials: "omit" });
  const spec = await response.json();
  spec.info = { ...spec.info, description: INTRODUCTION };
  delete spec.info.contact;
  window.ui = SwaggerUIBundle({
    spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
}

window.addEventListener("DOMContentLoaded", start);
