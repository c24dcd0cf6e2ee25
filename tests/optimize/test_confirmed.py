"""A confirmed joint operation binds its parties' plans: it is launched in its periods, the
shifts the plan's units pledged are kept inside its regions, and the other parties' pledges
are effort already there — whatever the optimizer would rather do with the shifts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest

from crossplan.optimize import InputError, Inputs, Status, plan_allocation
from crossplan.optimize.command import Command, Confirmed, FixedEffort
from crossplan.optimize.heuristics import greedy_allocation
from crossplan.optimize.score import score
from tests.optimize.test_command import AGREEMENT, JO, P

# Nearly all activity is far from the operation: no plan would send shifts there unbidden.
ACTIVITY = {"r1": 40.0, "r2": 0.5, "r3": 0.5, "r4": 40.0}
AAA = Command(country="AAA", scope="national")


def _inputs(make_inputs, unit, **extra: Any) -> Inputs:
    units = [unit("A-BP", "AAA", 5), unit("A-2", "AAA", 3), unit("B-BP", "BBB", 5)]
    inputs = make_inputs(units, ACTIVITY, agreements=[AGREEMENT], joint_operations=[JO])
    return dataclasses.replace(inputs, command=AAA, **extra)


def _confirmed(reserved: dict[str, int], period: str = P) -> Confirmed:
    return Confirmed(operation_id="JO-1", period=dt.date.fromisoformat(period), reserved=reserved)


def _b_pledge(shifts: int) -> FixedEffort:
    return FixedEffort(
        region_id="r3",
        period=dt.date.fromisoformat(P),
        country="BBB",
        shifts=shifts,
        source="JO-1 pledge of BBB",
    )


def _inside(plan, unit_id: str) -> int:
    return sum(
        a.shifts for a in plan.assignments if a.unit_id == unit_id and a.region_id in JO["regions"]
    )


def test_without_a_confirmation_the_operation_is_left_out(make_inputs, unit, solver) -> None:
    plan = plan_allocation(_inputs(make_inputs, unit, fixed_effort=(_b_pledge(2),)), solver)
    ((_, outcome),) = plan.operation_periods()
    assert not outcome.launched and not outcome.confirmed
    assert _inside(plan, "A-BP") == 0  # the shifts go where the activity is


def test_a_confirmed_operation_is_launched_with_the_pledged_shifts_reserved(
    make_inputs, unit, solver
) -> None:
    confirmed = _confirmed({"A-BP": 3})
    inputs = _inputs(make_inputs, unit, fixed_effort=(_b_pledge(2),), confirmed=(confirmed,))
    plan = plan_allocation(inputs, solver)
    assert plan.status is Status.OPTIMAL
    ((_, outcome),) = plan.operation_periods()
    assert outcome.launched and outcome.confirmed and outcome.reason is None
    assert _inside(plan, "A-BP") == 3  # exactly the pledge: the rest is worth more elsewhere
    assert _inside(plan, "A-2") == 0
    assert outcome.commitments == {"AAA": 3, "BBB": 2}
    # the multiplier applies to the pooled effort: A-BP's shifts and BBB's pledge
    effort = plan.effort_by_region()
    assert effort["r2"] + effort["r3"] == pytest.approx(1.5 * (3 + 2))
    assert plan.confirmed == (confirmed,)
    assert plan.to_dict()["confirmed"] == [
        {"operation_id": "JO-1", "period": P, "reserved": {"A-BP": 3}, "need": 0}
    ]


def test_the_greedy_start_keeps_the_reservation_and_the_launch(make_inputs, unit) -> None:
    inputs = _inputs(
        make_inputs, unit, fixed_effort=(_b_pledge(2),), confirmed=(_confirmed({"A-BP": 3}),)
    )
    start = greedy_allocation(inputs)
    assert start is not None and start.launched.all()
    ids = inputs.regions.region_ids
    a_bp = start.unit == 0
    inside = [ids[r] in JO["regions"] for r in start.region]
    assert start.shifts[a_bp & np.array(inside)].sum() == 3  # kept, and no more
    assert score(inputs, start).sum() > 0


def test_the_policy_cap_never_takes_back_a_confirmed_launch(make_inputs, unit, solver) -> None:
    inputs = _inputs(
        make_inputs, unit, fixed_effort=(_b_pledge(2),), confirmed=(_confirmed({"A-BP": 1}),)
    )
    capped = dataclasses.replace(
        inputs, policy=inputs.policy.model_copy(update={"max_joint_operations_per_period": 0})
    )
    ((_, outcome),) = plan_allocation(capped, solver).operation_periods()
    assert outcome.launched


def test_a_confirmation_of_another_period_changes_nothing(make_inputs, unit, solver) -> None:
    inputs = _inputs(make_inputs, unit, confirmed=(_confirmed({"A-BP": 3}, "2026-04-06"),))
    plan = plan_allocation(inputs, solver)
    assert not plan.joint_operations[0].launched and plan.confirmed == ()


def test_a_pledge_a_unit_cannot_keep_is_a_warning_not_a_failure(make_inputs, unit, solver) -> None:
    # A-FAR reaches r1 only: its pledge cannot be kept in JO-1's regions
    units = [unit("A-FAR", "AAA", 5, home_region="r1", max_distance_km=20), unit("B", "BBB", 5)]
    inputs = make_inputs(units, ACTIVITY, agreements=[AGREEMENT], joint_operations=[JO])
    inputs = dataclasses.replace(inputs, command=AAA, confirmed=(_confirmed({"A-FAR": 2}),))
    plan = plan_allocation(inputs, solver)
    assert plan.status is Status.OPTIMAL and plan.joint_operations[0].launched
    assert any("A-FAR pledged 2 shift(s) to JO-1" in w and "none of its regions" in w
               for w in plan.warnings)  # fmt: skip


@pytest.mark.parametrize(
    ("reserved", "match"),
    [
        ({"B-BP": 2}, "a unit this plan does not command 'B-BP'"),
        ({"NOPE": 2}, "unknown unit 'NOPE'"),
    ],
)
def test_only_commanded_units_are_reserved(make_inputs, unit, reserved, match) -> None:
    with pytest.raises(InputError, match=match):
        _inputs(make_inputs, unit, confirmed=(_confirmed(reserved),))


def test_an_unknown_operation_is_refused(make_inputs, unit) -> None:
    row = Confirmed(operation_id="JO-9", period=dt.date.fromisoformat(P))
    with pytest.raises(InputError, match=r"confirmed\[0\].*unknown joint operation 'JO-9'"):
        _inputs(make_inputs, unit, confirmed=(row,))


def test_a_pledge_being_weighed_places_its_shifts_where_the_plan_gains_most(
    make_inputs, unit, solver
) -> None:
    weighed = Confirmed(operation_id="JO-1", period=dt.date.fromisoformat(P), need=4)
    inputs = _inputs(make_inputs, unit, fixed_effort=(_b_pledge(2),), confirmed=(weighed,))
    plan = plan_allocation(inputs, solver)
    assert plan.status is Status.OPTIMAL and plan.joint_operations[0].launched
    assert _inside(plan, "A-BP") + _inside(plan, "A-2") == 4  # the plan chose the units
    start = greedy_allocation(inputs)
    assert start is not None
    ids = inputs.regions.region_ids
    inside = np.array([ids[r] in JO["regions"] for r in start.region])
    assert start.shifts[inside & (start.unit < 2)].sum() >= 4
