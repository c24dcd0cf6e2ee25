"""A plan as GeoJSON: one feature per region, flat properties per period, totals."""

from __future__ import annotations

import json

import pytest

from crossplan.pipelines.contract import Dataset
from crossplan.serving.geojson import plan_feature_collection


def _plan(region_ids: list[str]) -> dict[str, object]:
    rows = [
        {
            "region_id": rid,
            "period": period,
            "shifts": 2,
            "effort": 2.0,
            "expected_activity": 3.0,
            "expected_interdictions": 0.5,
            "marginal_value": 0.1,
        }
        for rid in region_ids
        for period in ("2024-03-04", "2024-03-11")
    ]
    return {
        "plan_id": "p1",
        "status": "optimal",
        "periods": ["2024-03-04", "2024-03-11"],
        "regions": rows,
    }


def test_every_region_is_a_feature_with_its_figures_per_period(tiny_dataset: Dataset) -> None:
    ids = list(tiny_dataset.regions["region_id"])
    collection = plan_feature_collection(_plan(ids), tiny_dataset)
    json.dumps(collection)  # plain JSON, as QGIS and geojson.io read it
    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == sorted(ids)
    props = collection["features"][0]["properties"]
    assert props["country"] in set(tiny_dataset.regions["country"])
    assert props["effort_2024-03-04"] == 2.0
    assert props["risk_2024-03-11"] == 3.0
    assert props["interdictions_total"] == pytest.approx(1.0)
    assert props["shifts_total"] == 4
    assert collection["properties"]["periods"] == ["2024-03-04", "2024-03-11"]


def test_a_region_no_longer_in_the_panel_keeps_its_figures_without_a_shape(
    tiny_dataset: Dataset,
) -> None:
    collection = plan_feature_collection(_plan(["gone"]), tiny_dataset)
    gone = next(f for f in collection["features"] if f["id"] == "gone")
    assert gone["geometry"] is None
    assert gone["properties"]["effort_total"] == 4.0
    assert len(collection["features"]) == len(tiny_dataset.regions) + 1
