"""Plans shared in agreement regions on hand-made instances: a partner that reads where the
other's shifts go leaves what they cover, and reads nothing outside the regions both read."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

from crossplan.optimize import Inputs, Plan, plan_allocation
from crossplan.optimize.command import Command
from crossplan.optimize.curve import exact_value
from crossplan.optimize.resources import Resources
from crossplan.pipelines.evaluation.coordination import (
    PUBLISHED,
    coordinate,
    published,
    shared_regions,
)
from crossplan.pipelines.evaluation.federated import pooled_effort
from crossplan.pipelines.views import region_level

P = "2026-03-02"
KAPPA = 0.8  # a few shifts nearly cover a region: a second country's shifts there add little
REGIONS = pd.DataFrame(
    {
        "region_id": ["r1", "r2", "r3", "r4", "r5"],
        "country": ["AAA", "AAA", "BBB", "BBB", "CCC"],
        "lon": [20.0, 20.5, 21.0, 21.5, 22.0],
        "lat": [45.0, 45.0, 45.0, 45.0, 45.0],
    }
)
RESOURCES = Resources.model_validate(
    {
        "units": [
            {"unit_id": u, "agency": "Border Police", "country": c, "shifts_per_period": n}
            for u, c, n in (("A-1", "AAA", 4), ("B-1", "BBB", 4), ("C-1", "CCC", 3))
        ],
        "agreements": [
            {"countries": ["AAA", "BBB"], "regions": ["r2", "r3"]},
            {"countries": ["BBB", "CCC"], "regions": ["r4", "r5"]},
        ],
    }
)
# Activity concentrated in r2, which AAA and BBB share; every country forecasts it alike.
HOT = {"r1": 2.0, "r2": 20.0, "r3": 4.0, "r4": 3.0, "r5": 3.0}


def _inputs(country: str, resources: Resources = RESOURCES) -> Inputs:
    view = region_level(REGIONS, resources, country)
    activity = HOT
    # a region outside the country's view counts as no activity, as in the federated policy
    rates = [activity[r] if r in view else 0.0 for r in activity]
    forecast = pd.DataFrame(
        {
            "region_id": list(activity),
            "category": "all",
            "period": pd.Timestamp(P),
            "activity_mean": rates,
            "activity_q10": rates,
            "activity_q50": rates,
            "activity_q90": rates,
            "detection_rate": KAPPA,
        }
    )
    return Inputs.from_resources(
        resources, REGIONS, forecast, horizon=1, command=Command(country=country, scope="national")
    )


def _solve(inputs: Inputs) -> Plan:
    return plan_allocation(inputs, "cbc", gap=0.0)


def _shifts_in(plan: Plan, region: str) -> int:
    return sum(a.shifts for a in plan.assignments if a.region_id == region)


def _pooled_value(inputs: Inputs, plans: Mapping[str, Plan]) -> float:
    """Expected interdictions of every country's own shifts together, on the common forecast."""
    effort = pooled_effort(inputs, plans.values(), set())
    e = np.array([effort[r] for r in HOT])
    lam = np.array(list(HOT.values()))[:, None, None]
    return float(exact_value(lam, np.array([[KAPPA]]), e[:, None]).sum())


@pytest.fixture(scope="module")
def inputs() -> dict[str, Inputs]:
    return {c: _inputs(c) for c in ("AAA", "BBB", "CCC")}


def test_without_coordination_both_partners_crowd_the_shared_region(inputs) -> None:
    alone = {c: _solve(i) for c, i in inputs.items()}
    assert _shifts_in(alone["AAA"], "r2") >= 2
    assert _shifts_in(alone["BBB"], "r2") >= 2


def test_with_coordination_the_second_leaves_what_the_first_covers(inputs) -> None:
    alone = {c: _solve(i) for c, i in inputs.items()}
    made, plans = coordinate(inputs, _solve, RESOURCES)
    # BBB reads AAA's shifts in r2 and sends fewer of its own there
    assert _shifts_in(plans["BBB"], "r2") < _shifts_in(alone["BBB"], "r2")
    read = [f for f in made["BBB"].fixed_effort if f.country == "AAA"]
    assert sum(f.effective for f in read if f.region_id == "r2") == _shifts_in(plans["AAA"], "r2")
    # as effort, not as shifts pledged to an operation
    assert all(f.shifts == 0 for f in read)
    # and the shifts it freed go where they find more: the pooled plan expects more
    assert _pooled_value(inputs["AAA"], plans) > _pooled_value(inputs["AAA"], alone) + 0.5
    # every country still plans its own units only
    for country, plan in plans.items():
        assert {a.unit_id[0] for a in plan.assignments} == {country[0]}


def test_no_country_reads_a_shift_outside_the_regions_both_read(inputs) -> None:
    made, _ = coordinate(inputs, _solve, RESOURCES)
    for country, given in made.items():
        view = region_level(REGIONS, RESOURCES, country)
        for row in given.fixed_effort:
            assert row.source == PUBLISHED and row.country != country
            # a row is a partner's shifts in a region their agreement covers
            assert row.region_id in shared_regions(RESOURCES, country, row.country)
            assert row.region_id in view & region_level(REGIONS, RESOURCES, row.country)
    # AAA and CCC share no agreement: neither reads anything of the other
    assert not {f.country for f in made["AAA"].fixed_effort} & {"CCC"}
    assert not {f.country for f in made["CCC"].fixed_effort} & {"AAA"}


def test_a_published_row_is_the_effective_effort_of_the_shifts() -> None:
    resources = RESOURCES.model_copy(
        update={
            "units": [
                *RESOURCES.units,
                RESOURCES.units[0].model_copy(update={"unit_id": "A-2", "efficiency": 0.5}),
            ]
        }
    )
    inputs = _inputs("AAA", resources)
    plan = _solve(inputs)
    rows = published(plan, inputs, ["r2"])
    eff = {"A-1": 1.0, "A-2": 0.5}
    there = [a for a in plan.assignments if a.region_id == "r2"]
    assert [r.region_id for r in rows] == (["r2"] if there else [])
    for row in rows:
        assert row.effective == pytest.approx(sum(eff[a.unit_id] * a.shifts for a in there))
    assert {a.region_id for a in plan.assignments} - {"r2"}  # AAA works r1 or r3 too


def test_the_countries_share_exactly_the_regions_of_their_agreements() -> None:
    assert shared_regions(RESOURCES, "AAA", "BBB") == {"r2", "r3"}
    assert shared_regions(RESOURCES, "BBB", "CCC") == {"r4", "r5"}
    assert shared_regions(RESOURCES, "AAA", "CCC") == frozenset()
