"""Read-only views of the served panel for the web page: region shapes and country borders.

The page draws the regions itself and shows, for a clicked region, what was observed there
lately (:meth:`serving.sharing.SharingPolicy.observed`) next to what is forecast.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import mapping
from shapely.ops import unary_union

from crossplan.pipelines.contract import Dataset

__all__ = ["DEFAULT_OBSERVED_PERIODS", "countries_collection", "regions_collection"]

DEFAULT_OBSERVED_PERIODS = 12
# Six decimals of a degree are about 10 cm: enough for any map, and a smaller document.
_DECIMALS = 6


def regions_collection(dataset: Dataset) -> dict[str, Any]:
    """The regions of ``dataset`` as an RFC 7946 FeatureCollection.

    Properties are ``region_id``, ``country``, ``name`` and ``kind``; the feature ``id`` is
    the ``region_id``.
    """
    features = []
    for (_, row), geom in zip(dataset.regions.iterrows(), dataset.geometries, strict=True):
        props: dict[str, str | None] = {
            "region_id": str(row["region_id"]),
            "country": str(row["country"]),
        }
        for key in ("name", "kind"):
            value = row.get(key)
            props[key] = None if value is None or value != value else str(value)
        features.append(
            {
                "type": "Feature",
                "id": props["region_id"],
                "geometry": _rounded(mapping(geom)),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def countries_collection(dataset: Dataset) -> dict[str, Any]:
    """The countries of ``dataset``, each the union of its regions, as a FeatureCollection.

    The page draws them as borders above the regions' fills: dissolved here from the same
    shapes, so that no outside map is needed and the borders meet the regions exactly.
    Properties are ``country`` and ``regions`` (how many); the feature ``id`` is the country.
    """
    shapes: dict[str, list[Any]] = {}
    for country, geom in zip(dataset.regions["country"], dataset.geometries, strict=True):
        shapes.setdefault(str(country), []).append(geom)
    features = [
        {
            "type": "Feature",
            "id": country,
            "geometry": _rounded(mapping(unary_union(parts))),
            "properties": {"country": country, "regions": len(parts)},
        }
        for country, parts in sorted(shapes.items())
    ]
    return {"type": "FeatureCollection", "features": features}


def _rounded(geometry: Any) -> Any:
    if isinstance(geometry, dict):
        return {k: _rounded(v) for k, v in geometry.items()}
    if isinstance(geometry, list | tuple):
        return [_rounded(v) for v in geometry]
    if isinstance(geometry, float):
        return round(geometry, _DECIMALS)
    return geometry
