// The map: one Leaflet polygon per region, painted by the view that is open, the countries'
// borders above them (GET /countries: dissolved from the same shapes by the service), and
// each region's name written on it where the name fits. Every region is also a keyboard
// stop (Tab, then Enter) with a label a screen reader reads out, and a tooltip by name.

/* global L */

const BORDER = "#6b6b6b"; // between regions: lighter than between countries
const COUNTRY = "#1a1a1a";
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

// A pane above the regions' fills (overlayPane, 400) that never takes a click.
function pane(map, name, zIndex) {
  const el = map.createPane(name);
  el.style.zIndex = String(zIndex);
  el.style.pointerEvents = "none";
  return name;
}

function textSpan(text, className) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text; // a node, not markup
  return span;
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

export class RegionMap {
  // regions, countries: GeoJSON of GET /regions and GET /countries (null: no borders).
  constructor(element, regions, { countries = null, tileUrl, tileAttribution, onSelect }) {
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
        // Hovering says what the key reads of the region, its name first.
        layer.bindTooltip(() => textSpan(this.describe(id) || feature.properties.name || id, "region-tip"), { sticky: true, direction: "top", offset: [0, -6] });
      },
    }).addTo(this.map);
    this.fit();
    hatching(element.querySelector(".leaflet-overlay-pane svg"));
    this.borders = null;
    if (countries?.features?.length) {
      this.borders = L.geoJSON(countries, {
        pane: pane(this.map, "borders", 450),
        interactive: false,
        style: () => ({ color: COUNTRY, weight: 2.5, opacity: 0.9, fill: false, lineJoin: "round" }),
      }).addTo(this.map);
      this.borders.eachLayer((layer) => {
        const path = layer.getElement();
        path.classList.add("country-border");
        path.dataset.country = layer.feature.properties.country;
      });
    }
    // Names where they fit, checked again at each zoom: a name wider than its region waits
    // for a closer zoom rather than cover its neighbours.
    this.names = new Map();
    const namePane = pane(this.map, "names", 620);
    for (const feature of regions.features) {
      const id = feature.properties.region_id;
      const label = L.tooltip({ permanent: true, direction: "center", className: "region-name", pane: namePane, interactive: false })
        .setLatLng(this.layers.get(id).getCenter())
        .setContent(textSpan(feature.properties.name || id, "region-name-text"));
      label.openOn(this.map);
      label.getElement().dataset.regionId = id;
      this.names.set(id, label);
    }
    this.map.on("zoomend resize", () => this.fitNames());
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

  // Show a region's name only where it fits inside the region and clear of names shown
  // (and of an operation's name written over its regions).
  fitNames() {
    const shown = this.label ? [this.label.getElement().getBoundingClientRect()] : [];
    const sized = [...this.names].map(([id, label]) => {
      const path = this.layers.get(id).getElement().getBoundingClientRect();
      return { id, el: label.getElement(), path, area: path.width * path.height };
    }).sort((a, b) => b.area - a.area);
    for (const { el, path } of sized) {
      const box = el.getBoundingClientRect();
      const fits = box.width <= 0.9 * path.width && box.height <= 0.6 * path.height && !shown.some((b) => overlaps(b, box));
      el.classList.toggle("cramped", !fits);
      if (fits) shown.push(box);
    }
    this.element.dataset.names = String(shown.length - (this.label ? 1 : 0));
  }

  // fill(id) -> colour; describe(id) -> words for screen readers; outlined: region ids;
  // label: {text, regions}, a name written on the map over those regions (or null).
  paint({ fill, describe, outlined = new Set(), label = null }) {
    this.fill = fill;
    this.describe = describe;
    this.outlined = outlined;
    for (const id of this.layers.keys()) this.restyle(id);
    this.labelled(label);
    this.fitNames();
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

  // Every region in view, with a margin.
  fit() {
    this.map.fitBounds(this.geo.getBounds(), { padding: [8, 8], animate: false });
    this.fitted = { zoom: this.map.getZoom(), center: this.map.getCenter() };
  }

  // The map's box changed (a window resized, a wider column): a view nobody moved fits the
  // regions again, a view a planner zoomed or panned stays as it was.
  invalidate() {
    const untouched = this.map.getZoom() === this.fitted.zoom && this.map.getCenter().equals(this.fitted.center);
    this.map.invalidateSize({ animate: false });
    if (untouched) this.fit();
  }
}

// The legend: a title, one swatch per class, the country-level hatching, the joint
// operations' outline, the countries' borders, and a note.
export function drawLegend(element, { title, classes, note, outline, countryLevel, borders }) {
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
  if (borders) { // a line, not a class of values: apart from the list
    const line = document.createElement("span");
    line.className = "legend-border";
    const swatch = document.createElement("span");
    swatch.className = "swatch border";
    line.append(swatch, document.createTextNode("border between countries"));
    element.append(line);
  }
  if (note) {
    const p = document.createElement("p");
    p.textContent = note;
    element.append(p);
  }
}
