"""The pledging rule on hand-made instances: an operation launches only when every party
expects as much with it as without, and a party's pledge is its own units' shifts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd
import pytest

from crossplan.optimize import Inputs, Plan, plan_allocation
from crossplan.optimize.command import Command
from crossplan.pipelines.evaluation.pledging import agree, partners_pledges, reservation

P = "2026-03-02"
REGIONS = pd.DataFrame(
    {
        "region_id": ["r1", "r2", "r3", "r4"],
        "country": ["AAA", "AAA", "BBB", "BBB"],
        "lon": [20.0, 20.5, 21.0, 21.5],
        "lat": [45.0, 45.0, 45.0, 45.0],
    }
)
JO = {
    "operation_id": "JO-1",
    "countries": ["AAA", "BBB"],
    "regions": ["r2", "r3"],
    "min_shifts_per_country": 2,
    "effort_multiplier": 1.5,
}
RESOURCES = {
    "units": [
        {"unit_id": u, "agency": "Border Police", "country": c, "shifts_per_period": n}
        for u, c, n in (("A-1", "AAA", 5), ("A-2", "AAA", 3), ("B-1", "BBB", 5))
    ],
    "agreements": [{"countries": ["AAA", "BBB"], "regions": ["r2", "r3"]}],
    "joint_operations": [JO],
}
BUSY = {"r1": 1.0, "r2": 20.0, "r3": 20.0, "r4": 1.0}  # the operation's regions matter most
QUIET = {"r1": 40.0, "r2": 0.0, "r3": 0.0, "r4": 1.0}  # nothing expected in its regions


def _inputs(
    country: str, activity: Mapping[str, float], resources: Mapping[str, object] = RESOURCES
) -> Inputs:
    forecast = pd.DataFrame(
        {
            "region_id": list(activity),
            "category": "all",
            "period": pd.Timestamp(P),
            "activity_mean": list(activity.values()),
            "activity_q10": list(activity.values()),
            "activity_q50": list(activity.values()),
            "activity_q90": list(activity.values()),
            "detection_rate": 0.3,
        }
    )
    return Inputs.from_resources(
        resources, REGIONS, forecast, horizon=1, command=Command(country=country, scope="national")
    )


def _solve(inputs: Inputs) -> Plan:
    return plan_allocation(inputs, "cbc", gap=0.0)


def _launched(plan: Plan) -> bool:
    ((_, outcome),) = plan.operation_periods()
    return outcome.launched


def test_every_party_gains_so_the_operation_launches_in_every_partys_plan() -> None:
    agreed = agree({"AAA": _inputs("AAA", BUSY), "BBB": _inputs("BBB", BUSY)}, _solve)
    (decision,) = agreed.decisions
    assert decision.launched and decision.period == P
    for answer in decision.answers:
        assert answer.pledged and answer.with_value is not None
        assert answer.with_value >= answer.without_value
    for country, plan in agreed.plans.items():
        assert _launched(plan)
        # each plan assigns its own country's units only, and at least its need inside
        units = {a.unit_id for a in plan.assignments}
        assert units and all(u.startswith(country[0]) for u in units)
        inside = sum(a.shifts for a in plan.assignments if a.region_id in JO["regions"])
        assert inside >= JO["min_shifts_per_country"]


def test_a_party_that_expects_less_with_it_declines_and_nothing_launches() -> None:
    # AAA sees no activity in the operation's regions: its reserved shifts are lost to it,
    # and BBB's pledge there is worth nothing to it. BBB would gain.
    inputs = {"AAA": _inputs("AAA", QUIET), "BBB": _inputs("BBB", BUSY)}
    agreed = agree(inputs, _solve)
    (decision,) = agreed.decisions
    answers = {a.country: a for a in decision.answers}
    assert answers["BBB"].pledged
    a = answers["AAA"]
    assert not a.pledged and a.with_value is not None and a.with_value < a.without_value
    assert a.reason is not None and "without" in a.reason
    assert not decision.launched and agreed.launched() == []
    # the plans are those without the operation
    for country, plan in agreed.plans.items():
        assert not _launched(plan)
        assert plan.objective == pytest.approx(_solve(inputs[country]).objective)
        assert plan.fixed_effort == ()


def test_a_party_whose_units_cannot_give_its_need_declines() -> None:
    op = {**JO, "min_shifts_per_country": 6}  # BBB has 5 shifts in all
    resources = {**RESOURCES, "joint_operations": [op]}
    inputs = {c: _inputs(c, BUSY, resources) for c in ("AAA", "BBB")}
    (decision,) = agree(inputs, _solve).decisions
    answers = {a.country: a for a in decision.answers}
    assert not answers["BBB"].pledged and answers["BBB"].with_value is None
    assert not decision.launched


def test_a_pledge_takes_the_units_the_plan_already_sends_there_first() -> None:
    inputs = _inputs("AAA", {"r1": 0.0, "r2": 20.0, "r3": 0.0, "r4": 0.0})
    plan = _solve(inputs)
    (op,) = inputs.joint_operations
    chosen = reservation(inputs, plan, op, P)
    assert chosen is not None and sum(chosen.values()) == 2
    there = {a.unit_id for a in plan.assignments if a.region_id in op.regions}
    assert set(chosen) <= there
    # a unit already reserved to another operation gives only what it has left
    assert reservation(inputs, plan, op, P, taken={"A-1": 5, "A-2": 2}) is None


def test_partners_pledges_are_their_needs_spread_over_the_regions() -> None:
    (op,) = _inputs("AAA", BUSY).joint_operations
    op = op.model_copy(update={"min_shifts_per_country": 5})
    rows = partners_pledges(op, dt.date.fromisoformat(P), "AAA")
    assert [(r.region_id, r.country, r.shifts) for r in rows] == [
        ("r2", "BBB", 3),
        ("r3", "BBB", 2),
    ]
