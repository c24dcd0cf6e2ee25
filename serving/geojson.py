"""A plan as a GeoJSON FeatureCollection: one feature per region, one property per period.

Properties are flat (``effort_2026-03-02``, ``risk_2026-03-02``, ...) because desktop GIS
(QGIS) and geojson.io style and label flat properties directly, and nested ones not at all.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from shapely.geometry import mapping

from crossplan.pipelines.contract import Dataset

__all__ = ["plan_feature_collection"]

_FIELDS = (
    ("risk", "expected_activity"),
    ("effort", "effort"),
    ("shifts", "shifts"),
    ("interdictions", "expected_interdictions"),
)


def plan_feature_collection(plan: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    """The regions of ``dataset`` with the plan's risk, effort and interdictions per period.

    Parameters
    ----------
    plan
        A plan body (``regions``: region_id, period, effort, expected_activity,
        expected_interdictions, ...).
    dataset
        The panel whose geometries to draw. A region of the plan that is no longer in the
        panel keeps its properties with a null geometry.

    Returns
    -------
    dict
        RFC 7946 FeatureCollection; totals over the periods as ``*_total`` properties.
    """
    by_region: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in plan.get("regions", []):
        acc = by_region[row["region_id"]]
        for name, key in _FIELDS:
            value = row.get(key)
            if value is None:
                continue
            acc[f"{name}_{row['period']}"] = value
            acc[f"{name}_total"] = acc.get(f"{name}_total", 0) + value
    info = dataset.regions.set_index("region_id")
    geometry = dict(zip(dataset.regions["region_id"], dataset.geometries, strict=True))
    features = []
    for region_id in sorted(set(by_region) | set(info.index)):
        props: dict[str, Any] = {"region_id": region_id}
        if region_id in info.index:
            row = info.loc[region_id]
            props.update({k: _plain(row[k]) for k in ("country", "name", "kind") if k in row})
        props.update(by_region.get(region_id, {}))
        geom = geometry.get(region_id)
        features.append(
            {
                "type": "Feature",
                "id": region_id,
                "geometry": None if geom is None else mapping(geom),
                "properties": props,
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "plan_id": plan.get("plan_id"),
            "status": plan.get("status"),
            "periods": plan.get("periods", []),
        },
    }


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value
