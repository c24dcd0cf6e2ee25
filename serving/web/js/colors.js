// Colour scales that colour-blind readers can tell apart (viridis; ColorBrewer PuOr and
// YlGnBu), binned into classes so the legend can name each one.

// Viridis from light (few) to dark (many).
export const SEQUENTIAL = ["#fde725", "#90d743", "#35b779", "#21918c", "#31688e", "#443983", "#440154"];
export const DIVERGING = ["#542788", "#998ec3", "#d8daeb", "#f7f7f7", "#fee0b6", "#f1a340", "#b35806"];
export const SHIFTS = ["#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"];
export const NONE = "#e8e8e8"; // zero shifts, or no value
export const MISSING = "#bdbdbd";

function niceStep(max, classes) {
  const raw = max / classes;
  if (raw <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) * power;
  return step;
}

// A scale: {colour(value), classes: [{colour, label}]}. Class edges are quantiles of the
// values, rounded, so that a few high regions do not leave the rest in one colour.
export function sequential(values, { palette = SEQUENTIAL, zero = false, digits = 1 } = {}) {
  const finite = values.filter(Number.isFinite).filter((v) => !zero || v > 0).sort((a, b) => a - b);
  const round = (v) => Number(v.toFixed(digits));
  const edges = [];
  for (let i = 1; i < palette.length; i++) {
    const edge = finite.length ? round(finite[Math.floor((i * finite.length) / palette.length)]) : i;
    if (!edges.length || edge > edges[edges.length - 1]) edges.push(edge);
  }
  // Spread the colours over the classes there are: the lightest and the darkest always show.
  const n = edges.length + 1;
  const pick = (i) => palette[n === 1 ? palette.length - 1 : Math.round((i * (palette.length - 1)) / (n - 1))];
  const low = finite.length ? round(finite[0]) : 0;
  const high = finite.length ? round(finite[finite.length - 1]) : 1;
  const bounds = [low, ...edges, high];
  const classes = Array.from({ length: n }, (_, i) => ({
    colour: pick(i),
    label: `${fmt(bounds[i], digits)} – ${fmt(Math.max(bounds[i], bounds[i + 1]), digits)}`,
  }));
  if (zero) classes.unshift({ colour: NONE, label: "0" });
  const colour = (v) => {
    if (!Number.isFinite(v)) return MISSING;
    if (zero && v <= 0) return NONE;
    let i = 0;
    while (i < edges.length && v >= edges[i]) i++;
    return pick(i);
  };
  return { colour, classes };
}

export function diverging(values, { digits = 1 } = {}) {
  const max = Math.max(0, ...values.filter(Number.isFinite).map(Math.abs));
  const half = (DIVERGING.length - 1) / 2; // 3 classes each side of "about no change"
  const step = niceStep(max || 1, half + 0.5);
  const edges = [];
  for (let i = -half; i <= half; i++) edges.push([(i - 0.5) * step, (i + 0.5) * step]);
  const classes = DIVERGING.map((colour, i) => ({
    colour,
    label: i === half ? `about no change (±${fmt(step / 2, digits)})`
      : i === 0 ? `below ${fmt(edges[0][1], digits)}`
      : i === DIVERGING.length - 1 ? `above ${fmt(edges[i][0], digits)}`
      : `${fmt(edges[i][0], digits)} to ${fmt(edges[i][1], digits)}`,
  }));
  const colour = (v) => {
    if (!Number.isFinite(v)) return MISSING;
    const i = Math.round(v / step) + half;
    return DIVERGING[Math.max(0, Math.min(DIVERGING.length - 1, i))];
  };
  return { colour, classes };
}

export function fmt(value, digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
