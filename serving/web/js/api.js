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

async function call(method, path, body, key = savedKey()) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, { error: "cannot reach the service: check the network and try again" });
  }
  const text = await response.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch (err) {
    doc = { error: text };
  }
  if (!response.ok) throw new ApiError(response.status, doc);
  return doc;
}

export const api = {
  me: (key) => call("GET", "/me", undefined, key),
  regions: () => call("GET", "/regions"),
  observed: (periods = 12) => call("GET", `/observed?periods=${periods}`),
  resources: () => call("GET", "/resources"),
  forecast: (horizon) => call("POST", "/forecast", { horizon }),
  plan: (request) => call("POST", "/plan", request),
  plans: (limit = 50) => call("GET", `/plans?limit=${limit}`),
  storedPlan: (id) => call("GET", `/plans/${encodeURIComponent(id)}`),
  planGeojson: (id) => call("GET", `/plans/${encodeURIComponent(id)}/geojson`),
};

export async function config() {
  const response = await fetch("/web/config.json", { credentials: "omit" });
  return response.ok ? response.json() : { tile_url: null };
}
