// The map: one Leaflet polygon per region, painted by the view that is open. Every region
// is also a keyboard stop (Tab, then Enter) with a label a screen reader reads out.

/* global L */

const BORDER = "#333333";
const SELECTED = "#000000";
const OUTLINE = "#d01c8b"; // joint operations: magenta, apart from every fill colour
const SVG = "http://www.w3.org/2000/svg";

// Regions the key reads only as their country's total: grey hatching, apart from every
// colour scale and from "no value" grey, with faint inner borders so a country reads as one.
export const COUNTRY_LEVEL = "url(#country-level)";
const COUNTRY_BORDER = "#9a9a9a";

function hatching(svg) {
  if (!svg || svg.querySelector("#country-level")) return;
  const node = (name, attrs, parent) => {
    const el = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    parent.append(el);
    return el;
  };
  const defs = node("defs", {}, svg);
  svg.prepend(defs);
  const pattern = node("pattern", { id: "country-level", patternUnits: "userSpaceOnUse", width: 8, height: 8, patternTransform: "rotate(45)" }, defs);
  node("rect", { width: 8, height: 8, fill: "#f0f0f0" }, pattern);
  node("line", { x1: 0, y1: 0, x2: 0, y2: 8, stroke: "#a8a8a8", "stroke-width": 3 }, pattern);
}

export class RegionMap {
  constructor(element, regions, { tileUrl, tileAttribution, onSelect }) {
    this.element = element;
    this.onSelect = onSelect;
    this.fill = () => "#e8e8e8";
    this.describe = () => "";
    this.outlined = new Set();
    this.selected = new Set();
    this.label = null;
    this.layers = new Map();
    this.map = L.map(element, { zoomSnap: 0.25, attributionControl: Boolean(tileUrl) });
    if (tileUrl) {
      L.tileLayer(tileUrl, { attribution: tileAttribution || "", maxZoom: 18 }).addTo(this.map);
    }
    this.geo = L.geoJSON(regions, {
      style: () => ({ color: BORDER, weight: 1, fillOpacity: 0.85, fillColor: "#e8e8e8" }),
      onEachFeature: (feature, layer) => {
        const id = feature.properties.region_id;
        this.layers.set(id, layer);
        layer.on("click", () => this.onSelect(id));
      },
    }).addTo(this.map);
    this.map.fitBounds(this.geo.getBounds(), { padding: [8, 8] });
    hatching(element.querySelector(".leaflet-overlay-pane svg"));
    for (const [id, layer] of this.layers) {
      const path = layer.getElement();
      path.classList.add("region");
      path.dataset.regionId = id;
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", "button");
      path.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.onSelect(id);
        }
      });
    }
  }

  // fill(id) -> colour; describe(id) -> words for screen readers; outlined: region ids;
  // label: {text, regions}, a name written on the map over those regions (or null).
  paint({ fill, describe, outlined = new Set(), label = null }) {
    this.fill = fill;
    this.describe = describe;
    this.outlined = outlined;
    for (const id of this.layers.keys()) this.restyle(id);
    this.labelled(label);
    this.element.dataset.painted = String(this.layers.size);
  }

  labelled(label) {
    this.label?.remove();
    this.label = null;
    const shapes = (label?.regions || []).filter((id) => this.layers.has(id)).map((id) => this.layers.get(id).getBounds());
    if (!shapes.length) return;
    const text = document.createElement("span");
    text.textContent = label.text; // a node, not markup
    const where = shapes.reduce((all, b) => all.extend(b), L.latLngBounds(shapes[0].getSouthWest(), shapes[0].getNorthEast()));
    this.label = L.tooltip({ permanent: true, direction: "center", className: "map-label" })
      .setLatLng(where.getCenter()).setContent(text).openOn(this.map);
  }

  // ids: the regions shown as chosen (one region, or a country read as its total).
  select(ids = []) {
    const previous = this.selected;
    this.selected = new Set(ids.filter((id) => this.layers.has(id)));
    for (const id of previous) if (!this.selected.has(id)) this.restyle(id);
    for (const id of this.selected) {
      this.restyle(id);
      this.layers.get(id).bringToFront();
    }
  }

  restyle(id) {
    const layer = this.layers.get(id);
    const joint = this.outlined.has(id);
    const chosen = this.selected.has(id);
    const fill = this.fill(id);
    const grouped = fill === COUNTRY_LEVEL;
    layer.setStyle({
      fillColor: fill,
      color: chosen ? SELECTED : joint ? OUTLINE : grouped ? COUNTRY_BORDER : BORDER,
      weight: chosen ? (this.selected.size > 1 ? 2.5 : 4) : joint ? 3.5 : grouped ? 0.5 : 1,
      dashArray: joint && !chosen ? "7 4" : null,
    });
    const path = layer.getElement();
    path.setAttribute("aria-label", this.describe(id));
    path.classList.toggle("joint", joint);
    path.classList.toggle("selected", chosen);
    path.classList.toggle("country-level", grouped);
    if (joint) this.layers.get(id).bringToFront();
  }

  remove() {
    this.map.remove();
  }

  invalidate() {
    this.map.invalidateSize();
  }
}

// The legend: a title, one swatch per class, the country-level hatching, and a note.
export function drawLegend(element, { title, classes, note, outline, countryLevel }) {
  element.replaceChildren();
  const heading = document.createElement("h3");
  heading.textContent = title;
  const list = document.createElement("ul");
  for (const { colour, label } of classes) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = colour;
    swatch.dataset.colour = colour;
    item.append(swatch, document.createTextNode(label));
    list.append(item);
  }
  if (countryLevel) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch country-level";
    swatch.dataset.colour = COUNTRY_LEVEL;
    item.append(swatch, document.createTextNode(countryLevel));
    list.append(item);
  }
  if (outline) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch outline";
    item.append(swatch, document.createTextNode(outline));
    list.append(item);
  }
  element.append(heading, list);
  if (note) {
    const p = document.createElement("p");
    p.textContent = note;
    element.append(p);
  }
}
