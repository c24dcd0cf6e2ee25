"""Reading and validating the regions GeoJSON of the data contract."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import shapely
from shapely.geometry.base import BaseGeometry

from crossplan.pipelines.contract._json import load_json
from crossplan.pipelines.contract._problems import problems_from_failures
from crossplan.pipelines.contract.personal import looks_personal
from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.pipelines.geometry import adjacency, areas_km2, centroids

__all__ = ["KINDS", "Regions", "read_regions"]

KINDS = ("land_border", "sea_border", "airport", "inland")
_KNOWN = ("region_id", "country", "name", "kind")
# Two regions whose intersection exceeds this share of the smaller one overlap.
_OVERLAP_SHARE = 0.01

_MESSAGES = {
    "required": ("region_id is missing", "give every feature a unique 'region_id' property"),
    "unique_id": ("region_id '{value}' is used by more than one feature", "make region_id unique"),
    "iso3": (
        "country '{value}' is not an ISO 3166-1 alpha-3 code",
        "use three capital letters, e.g. 'GRC'",
    ),
    "kind": (
        "kind '{value}' is not one of " + ", ".join(KINDS),
        "use one of " + ", ".join(KINDS) + " or leave it out",
    ),
    "finite": ("covariate value '{value}' is not a finite number", "use a number"),
}


@dataclass(frozen=True)
class Regions:
    """The regions of a data directory.

    Attributes
    ----------
    table
        ``region_id, country, name, kind, lon, lat, area_km2`` and static ``cov_*``.
    geometries
        Shapely geometries aligned with ``table``.
    adjacency
        Neighbour pairs (:func:`pipelines.geometry.adjacency`).
    """

    table: pd.DataFrame
    geometries: list[BaseGeometry]
    adjacency: pd.DataFrame

    @property
    def ids(self) -> pd.Index:
        return pd.Index(self.table["region_id"])

    @property
    def countries(self) -> list[str]:
        return sorted(self.table["country"].unique())


def read_regions(path: Path) -> Regions:
    """Read and validate a regions GeoJSON FeatureCollection.

    Raises
    ------
    DataValidationError
        Listing every problem, each with its feature number and property.
    """
    file = path.name
    doc = load_json(path, "GeoJSON FeatureCollection")
    features = doc.get("features") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(features, list)
    ):
        raise DataValidationError(
            [
                Problem(
                    file, "not a GeoJSON FeatureCollection", "give a FeatureCollection of regions"
                )
            ]
        )
    if not features:
        raise DataValidationError([Problem(file, "the file has no regions", "add region features")])

    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    geoms: list[BaseGeometry | None] = []
    for i, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            problems.append(
                Problem(file, "feature has no properties", "add region_id and country", i)
            )
            props = {}
        records.append(props)
        geoms.append(_geometry(feature, file, i, problems))

    props = pd.DataFrame.from_records(records, index=pd.RangeIndex(len(records)))
    problems.extend(_check_properties(props, file))
    if problems:
        raise DataValidationError(problems)

    valid_geoms: list[BaseGeometry] = [g for g in geoms if g is not None]
    problems.extend(_overlaps(props["region_id"].astype(str).tolist(), valid_geoms, file))
    if problems:
        raise DataValidationError(problems)

    table = _table(props, valid_geoms)
    edges = adjacency(table["region_id"].tolist(), valid_geoms, table["country"].tolist())
    return Regions(table, valid_geoms, edges)


def _geometry(feature: Any, file: str, i: int, problems: list[Problem]) -> BaseGeometry | None:
    raw = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        got = raw.get("type") if isinstance(raw, dict) else raw
        problems.append(
            Problem(
                file,
                f"geometry must be a Polygon or MultiPolygon, got {got!r}",
                "give the region's outline",
                i,
                "geometry",
            )
        )
        return None
    try:
        geom = shapely.geometry.shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError) as err:
        problems.append(
            Problem(file, f"geometry cannot be read ({err})", "fix the coordinates", i, "geometry")
        )
        return None
    minx, miny, maxx, maxy = geom.bounds if not geom.is_empty else (0, 0, 0, 0)
    if geom.is_empty:
        problems.append(
            Problem(file, "geometry is empty", "give the region's outline", i, "geometry")
        )
    elif minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        problems.append(
            Problem(
                file,
                "coordinates outside WGS84 longitude/latitude range",
                "give coordinates in WGS84 (EPSG:4326) degrees, longitude first",
                i,
                "geometry",
            )
        )
    elif not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        problems.append(
            Problem(
                file,
                f"invalid geometry: {reason}",
                "repair it (e.g. shapely.make_valid or QGIS 'Fix geometries')",
                i,
                "geometry",
            )
        )
    else:
        return geom
    return None


def _check_properties(props: pd.DataFrame, file: str) -> list[Problem]:
    problems: list[Problem] = []
    for column in props.columns:
        if column in _KNOWN or str(column).startswith("cov_"):
            continue
        if looks_personal(str(column)):
            problems.append(
                Problem(
                    file,
                    f"property '{column}' looks like data about people",
                    "remove it: crossplan takes aggregates about areas only",
                    None,
                    str(column),
                )
            )
        else:
            problems.append(
                Problem(
                    file,
                    f"unknown property '{column}'",
                    "remove it, or prefix a numeric covariate with 'cov_'",
                    None,
                    str(column),
                )
            )
    for required in ("region_id", "country"):
        if required not in props.columns:
            problems.append(
                Problem(
                    file,
                    f"no feature has the required property '{required}'",
                    f"add '{required}' to every feature",
                    None,
                    required,
                )
            )
    if problems:
        return problems

    columns: dict[str, pa.Column] = {
        "region_id": pa.Column(
            object,
            nullable=False,
            checks=pa.Check(lambda s: ~s.astype(str).duplicated(keep=False), name="unique_id"),
        ),
        "country": pa.Column(
            object,
            nullable=False,
            checks=pa.Check(lambda s: s.astype(str).str.fullmatch(r"[A-Z]{3}"), name="iso3"),
        ),
    }
    if "kind" in props.columns:
        columns["kind"] = pa.Column(
            object, nullable=True, checks=pa.Check(lambda s: s.isin(KINDS) | s.isna(), name="kind")
        )
    for cov in (c for c in props.columns if str(c).startswith("cov_")):
        columns[cov] = pa.Column(
            object,
            nullable=True,
            checks=pa.Check(lambda s: s.map(_is_finite_number), name="finite"),
        )
    schema = pa.DataFrameSchema(columns, strict=False)
    try:
        schema.validate(props.astype({c: object for c in columns}), lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases.copy()
        failures.loc[failures["check"].astype(str).str.contains("not_nullable"), "check"] = (
            "required"
        )
        problems.extend(problems_from_failures(failures, file, lambda i: i + 1, _MESSAGES))
    return problems


def _is_finite_number(value: Any) -> bool:
    if value is None:
        return True
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and bool(np.isfinite(value))
    )


def _overlaps(ids: list[str], geoms: list[BaseGeometry], file: str) -> list[Problem]:
    arr = np.asarray(geoms, dtype=object)
    left, right = shapely.STRtree(arr).query(arr, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.area(shapely.intersection(arr[left], arr[right]))
    smaller = np.minimum(shapely.area(arr[left]), shapely.area(arr[right]))
    bad = shared > _OVERLAP_SHARE * smaller
    return [
        Problem(
            file,
            f"regions '{ids[a]}' and '{ids[b]}' overlap ({100 * s / m:.0f}% of the smaller)",
            "regions must not overlap: fix the boundaries so each place lies in one region",
            int(a) + 1,
            "geometry",
        )
        for a, b, s, m in zip(left[bad], right[bad], shared[bad], smaller[bad], strict=True)
    ]


def _table(props: pd.DataFrame, geoms: list[BaseGeometry]) -> pd.DataFrame:
    lon, lat = centroids(geoms)
    table = pd.DataFrame(
        {
            "region_id": props["region_id"].astype(str).to_numpy(),
            "country": props["country"].astype(str).to_numpy(),
            "name": props["name"].astype("string").to_numpy() if "name" in props else pd.NA,
            "kind": props["kind"].astype("string").to_numpy() if "kind" in props else pd.NA,
            "lon": lon,
            "lat": lat,
            "area_km2": areas_km2(geoms),
        }
    )
    for cov in sorted(c for c in props.columns if str(c).startswith("cov_")):
        table[cov] = pd.to_numeric(props[cov]).astype("float64").to_numpy()
    return table
