"""Eligibility: own country, listed regions, distance from home, agreements."""

from __future__ import annotations

import numpy as np
import pytest

from crossplan.optimize.eligibility import haversine_km


@pytest.mark.parametrize(
    ("fields", "agreements", "expected"),
    [
        # no limits: every region of its own country
        ({}, [], ["r1", "r2"]),
        # an explicit list of regions
        ({"regions": ["r2"]}, [], ["r2"]),
        # within 50 km of r1 (r2 is ~39 km away)
        ({"home_region": "r1", "max_distance_km": 50}, [], ["r1", "r2"]),
        # an agreement opens r3 across the border
        ({}, [{"countries": ["AAA", "BBB"], "regions": ["r3"]}], ["r1", "r2", "r3"]),
        # ... but not beyond the unit's reach (r3 is ~79 km from r1)
        (
            {"home_region": "r1", "max_distance_km": 50},
            [{"countries": ["AAA", "BBB"], "regions": ["r3"]}],
            ["r1", "r2"],
        ),
        # an agreement between other countries opens nothing (r4 is in CCC here)
        ({}, [{"countries": ["BBB", "CCC"], "regions": ["r3", "r4"]}], ["r1", "r2"]),
        # a listed unit still crosses where an agreement opens the border
        ({"regions": ["r1"]}, [{"countries": ["AAA", "BBB"], "regions": ["r4"]}], ["r1", "r4"]),
    ],
)
def test_where_a_unit_may_work(make_inputs, unit, regions, fields, agreements, expected) -> None:
    if any("CCC" in a["countries"] for a in agreements):
        regions.loc[regions["region_id"] == "r4", "country"] = "CCC"
    inputs = make_inputs(
        [unit("A1", "AAA", 4, **fields)], {"r1": 1.0}, agreements=agreements, regions=regions
    )
    allowed = inputs.eligibility.regions_of(0)
    assert [inputs.regions.region_ids[r] for r in allowed] == expected


def test_haversine_matches_a_degree_of_latitude() -> None:
    d = haversine_km(20.0, 45.0, np.array([20.0, 20.5]), np.array([46.0, 45.0]))
    assert d[0] == pytest.approx(111.19, abs=0.05)
    assert d[1] == pytest.approx(39.3, abs=0.1)


def test_units_of_a_region(make_inputs, unit) -> None:
    inputs = make_inputs(
        [unit("A1", "AAA", 4), unit("B1", "BBB", 4), unit("A2", "AAA", 0)], {"r1": 1.0}
    )
    assert inputs.eligibility.units_of(0).tolist() == [0, 2]
    assert inputs.eligibility.units_of(3).tolist() == [1]
