// The map: one Leaflet polygon per region, painted by the view that is open. Every region
// is also a keyboard stop (Tab, then Enter) with a label a screen reader reads out.

/* global L */

const BORDER = "#333333";
const SELECTED = "#000000";
const OUTLINE = "#d01c8b"; // joint operations: magenta, apart from every fill colour

export class RegionMap {
  constructor(element, regions, { tileUrl, tileAttribution, onSelect }) {
    this.element = element;
    this.onSelect = onSelect;
    this.fill = () => "#e8e8e8";
    this.describe = () => "";
    this.outlined = new Set();
    this.selected = null;
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

  // fill(id) -> colour; describe(id) -> words for screen readers; outlined: region ids.
  paint({ fill, describe, outlined = new Set() }) {
    this.fill = fill;
    this.describe = describe;
    this.outlined = outlined;
    for (const id of this.layers.keys()) this.restyle(id);
    this.element.dataset.painted = String(this.layers.size);
  }

  select(id) {
    const previous = this.selected;
    this.selected = id;
    if (previous) this.restyle(previous);
    if (id && this.layers.has(id)) {
      this.restyle(id);
      this.layers.get(id).bringToFront();
    }
  }

  restyle(id) {
    const layer = this.layers.get(id);
    const joint = this.outlined.has(id);
    const chosen = id === this.selected;
    layer.setStyle({
      fillColor: this.fill(id),
      color: chosen ? SELECTED : joint ? OUTLINE : BORDER,
      weight: chosen ? 4 : joint ? 3.5 : 1,
      dashArray: joint && !chosen ? "7 4" : null,
    });
    const path = layer.getElement();
    path.setAttribute("aria-label", this.describe(id));
    path.classList.toggle("joint", joint);
    path.classList.toggle("selected", chosen);
    if (joint) this.layers.get(id).bringToFront();
  }

  remove() {
    this.map.remove();
  }

  invalidate() {
    this.map.invalidateSize();
  }
}

// The legend: a title, one swatch per class, and a note.
export function drawLegend(element, { title, classes, note, outline }) {
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
