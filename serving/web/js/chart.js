// A small chart of one region and category: recent observed counts, then the forecast
// mean with its 10%–90% interval. Plain SVG, drawn with presentation attributes only.

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.append(node);
  return node;
}

// observed: [{period, value}] with value null where the panel has no row (missing is not
// zero: the line breaks there), forecast: [{period, mean, q10, q90}].
export function forecastChart({ observed, forecast, title }) {
  const width = 300, height = 150, left = 30, right = 8, top = 10, bottom = 22;
  const n = observed.length + forecast.length;
  const max = Math.max(1, ...observed.map((o) => o.value ?? 0), ...forecast.map((f) => f.q90));
  const x = (i) => left + (n <= 1 ? 0 : (i * (width - left - right)) / (n - 1));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  el("title", {}, svg).textContent = title;
  // axes: zero line, the top value, and where the forecast starts
  el("line", { x1: left, x2: width - right, y1: y(0), y2: y(0), stroke: "#666" }, svg);
  const label = (text, tx, ty, anchor = "end") => {
    const t = el("text", { x: tx, y: ty, "font-size": 10, "text-anchor": anchor, fill: "#333" }, svg);
    t.textContent = text;
  };
  label("0", left - 4, y(0) + 3);
  label(String(Math.round(max)), left - 4, y(max) + 3);
  const start = observed.length;
  if (forecast.length) {
    el("line", { x1: x(start), x2: x(start), y1: top, y2: y(0), stroke: "#999", "stroke-dasharray": "3 3" }, svg);
    label("forecast", x(start) + 3, height - 6, "start");
    const upper = forecast.map((f, i) => `${x(start + i)},${y(f.q90)}`);
    const lower = forecast.map((f, i) => `${x(start + i)},${y(f.q10)}`).reverse();
    el("polygon", { points: [...upper, ...lower].join(" "), fill: "#21918c", "fill-opacity": 0.25, stroke: "none", class: "interval" }, svg);
    el("polyline", { points: forecast.map((f, i) => `${x(start + i)},${y(f.mean)}`).join(" "), fill: "none", stroke: "#21918c", "stroke-width": 2, class: "mean" }, svg);
  }
  if (observed.length) {
    label("observed", left, height - 6, "start");
    let run = [];
    const flush = () => {
      if (run.length > 1) el("polyline", { points: run.join(" "), fill: "none", stroke: "#440154", "stroke-width": 1.5 }, svg);
      run = [];
    };
    observed.forEach((o, i) => {
      if (o.value === null) return flush();
      run.push(`${x(i)},${y(o.value)}`);
      el("circle", { cx: x(i), cy: y(o.value), r: 2.2, fill: "#440154", class: "observed" }, svg);
    });
    flush();
  }
  return svg;
}
