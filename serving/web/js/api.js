// Calls to the service's API with the signed-in key. The key lives in this tab's
// sessionStorage only: never in a URL, never in a cookie.

const KEY = "crossplan.key";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the service answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function savedKey() {
  return sessionStorage.getItem(KEY);
}

export function saveKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

// body: a value sent as JSON, or {raw, type}: bytes (a File) sent as they are, with their type.
async function call(method, path, body, key = savedKey()) {
  const { response, text } = await send(method, path, body, key, "application/json");
  const doc = parsed(text);
  if (!response.ok) throw new ApiError(response.status, doc);
  return doc;
}

// A document that is not JSON (a CSV, a printable page): its text.
async function fetchText(path, accept) {
  const { response, text } = await send("GET", path, undefined, savedKey(), accept);
  if (!response.ok) throw new ApiError(response.status, parsed(text));
  return text;
}

function parsed(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch (err) {
    return { error: text };
  }
}

async function send(method, path, body, key, accept) {
  const headers = { Accept: accept, Authorization: `Bearer ${key}` };
  let payload;
  if (body && body.raw !== undefined) {
    headers["Content-Type"] = body.type;
    payload = body.raw;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: "omit", cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, { error: "cannot reach the service: check the network and try again" });
  }
  return { response, text: await response.text() };
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of [].concat(value)) if (v !== null && v !== undefined) search.append(name, v);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const api = {
  me: (key) => call("GET", "/me", undefined, key),
  regions: () => call("GET", "/regions"),
  countries: () => call("GET", "/countries"),
  model: () => call("GET", "/model"),
  observed: (periods = 12) => call("GET", `/observed${query({ periods })}`),
  resources: () => call("GET", "/resources"),
  forecast: (horizon) => call("POST", "/forecast", { horizon }),
  plan: (request) => call("POST", "/plan", request),
  plans: (limit = 50) => call("GET", `/plans${query({ limit })}`),
  storedPlan: (id) => call("GET", `/plans/${encodeURIComponent(id)}`),
  planGeojson: (id) => call("GET", `/plans/${encodeURIComponent(id)}/geojson`),
  taskingCsv: (id) => fetchText(`/plans/${encodeURIComponent(id)}/tasking.csv`, "text/csv"),
  taskingPage: (id) => fetchText(`/plans/${encodeURIComponent(id)}/tasking`, "text/html"),
  planDiff: (a, b) => call("GET", `/plans/diff${query({ a, b })}`),
  incidents: ({ start, end, category } = {}) => call("GET", `/incidents${query({ start, end, category, format: "json" })}`),
  alerts: (limit = 100) => call("GET", `/alerts${query({ limit })}`),
  submit: (file, type) => call("POST", `/submissions${query({ file: file.name })}`, { raw: file, type }),
  operations: (status) => call("GET", `/operations${query({ status })}`),
  operationValue: (id) => call("GET", `/operations/${encodeURIComponent(id)}/value`),
  // act: "pledges", "decline" or "withdraw"; body: that act's request.
  operationAct: (id, act, body) => call("POST", `/operations/${encodeURIComponent(id)}/${act}`, body),
};

export async function config() {
  const response = await fetch("/web/config.json", { credentials: "omit" });
  return response.ok ? response.json() : { tile_url: null };
}
