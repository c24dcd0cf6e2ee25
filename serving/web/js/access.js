// What the signed-in key reads region by region, and what only as country totals.
//
// The service sends a key only what the sharing rules open to it; the page checks again
// (defence in depth): a row of a region the key does not read region by region is dropped
// as it arrives, and such a region is drawn at country level whatever a response holds.

// The key's own country's regions and those an agreement with its country covers: what
// GET /me says (region_level), or, from a service that does not say it, the same rule
// applied to the regions and the agreements the key was sent.
function regionLevel(me, regions, resources) {
  if (me.country === null || me.country === undefined) return null; // the operator: every region
  if (Array.isArray(me.region_level)) return new Set(me.region_level);
  const own = new Set(Object.values(regions || {}).filter((r) => r.country === me.country).map((r) => r.region_id));
  for (const agreement of resources?.agreements || []) {
    if (agreement.countries.includes(me.country)) for (const id of agreement.regions) own.add(id);
  }
  return own;
}

export class Access {
  // me: GET /me; regions: region_id -> properties (or null when the key may not read them);
  // resources: GET /resources (or null).
  constructor(me, regions, resources) {
    this.country = me.country ?? null;
    this.regions = regions || {};
    this.shown = regionLevel(me, regions, resources); // null: every region
  }

  // Whether the key reads every region region by region (the operator's keys).
  get all() {
    return this.shown === null;
  }

  reads(regionId) {
    return this.shown === null || this.shown.has(regionId);
  }

  // Rows (anything with a region_id) of regions the key reads region by region.
  keep(rows) {
    return this.all ? [...(rows || [])] : (rows || []).filter((r) => this.reads(r.region_id));
  }

  // The regions of a country the key reads only as its total, sorted by name.
  countryLevel(country) {
    return Object.values(this.regions)
      .filter((r) => r.country === country && !this.reads(r.region_id))
      .sort((a, b) => (a.name || a.region_id).localeCompare(b.name || b.region_id));
  }

  // Whether a text names a region the key does not read region by region (constraint
  // names, a diagnosis's findings).
  namesHidden(text) {
    if (this.all) return false;
    return (String(text).match(/[A-Za-z0-9_.-]+/g) || []).some((token) => Object.hasOwn(this.regions, token) && !this.reads(token));
  }

  // A line for the page's header.
  summary() {
    if (this.all) return "every region, region by region";
    const partner = [...this.shown].filter((id) => this.regions[id] && this.regions[id].country !== this.country).length;
    return `region by region: ${this.country}` + (partner ? ` and ${partner} agreement region${partner === 1 ? "" : "s"}` : "") +
      "; elsewhere country totals";
  }
}
