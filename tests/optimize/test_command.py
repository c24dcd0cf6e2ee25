"""Command follows ownership: a plan assigns only the units its planner commands, counts the
effort others committed without moving it, and never fails on a joint operation it cannot
staff — it leaves it out and says why."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import pytest

from crossplan.optimize import Inputs, Status, plan_allocation
from crossplan.optimize.command import Command, FixedEffort

P = "2026-03-02"
# Most of the activity is where the two countries meet (r2, r3): worth a joint operation.
ACTIVITY = {"r1": 4.0, "r2": 12.0, "r3": 12.0, "r4": 4.0}
AGREEMENT = {"countries": ["AAA", "BBB"], "regions": ["r2", "r3"]}
JO = {
    "operation_id": "JO-1",
    "countries": ["AAA", "BBB"],
    "regions": ["r2", "r3"],
    "min_shifts_per_country": 2,
    "effort_multiplier": 1.5,
}


def _units(unit, b_shifts: int = 5) -> list[dict[str, Any]]:
    return [
        unit("A-BP", "AAA", 5),
        {**unit("A-CG", "AAA", 5), "agency": "Coast Guard"},
        unit("B-BP", "BBB", b_shifts),
    ]


def _inputs(make_inputs, units, command: Command, **extra: Any) -> Inputs:
    inputs = make_inputs(units, ACTIVITY, agreements=[AGREEMENT], joint_operations=[JO])
    return dataclasses.replace(inputs, command=command, **extra)


def _planned_units(plan) -> set[str]:
    return {a.unit_id for a in plan.assignments if a.shifts > 0}


AAA_BP = Command(country="AAA", agency="Border Police")


@pytest.mark.parametrize(
    ("command", "units", "binding"),
    [
        (AAA_BP, {"A-BP"}, True),  # an agency's planner: its agency's units only
        (Command(country="AAA", scope="national"), {"A-BP", "A-CG"}, True),  # every AAA unit
        (Command(country="BBB", agency="Coast Guard"), set(), True),  # an agency with no unit
        (Command(), {"A-BP", "A-CG", "B-BP"}, False),  # the operator: all, binding no one
    ],
)
def test_a_plan_assigns_only_the_units_its_planner_commands(
    make_inputs, unit, solver, command, units, binding
) -> None:
    plan = plan_allocation(_inputs(make_inputs, _units(unit), command), solver)
    assert plan.status is Status.OPTIMAL
    assert _planned_units(plan) == units
    assert plan.binding is binding and plan.command == command
    assert plan.to_dict()["binding"] is binding
    central = [w for w in plan.warnings if w.startswith("a central proposal")]
    assert bool(central) is not binding
    if not units:
        assert f"{command.planner} commands no unit" in " ".join(plan.warnings)


def _reason(plan) -> str:
    ((_, outcome),) = plan.operation_periods()
    assert not outcome.launched and outcome.status == "not launched"
    assert outcome.reason is not None
    return outcome.reason


@pytest.mark.parametrize(
    ("b_shifts", "command", "reason"),
    [
        # another country's part: pledged by that country, not planned by this one
        (
            5,
            AAA_BP,
            "AAA Border Police plans its own units; BBB's part is pledged by BBB, which has "
            "pledged none",
        ),
        (5, Command(country="AAA", scope="national"), "AAA plans its own units; BBB's part"),
        # an operation the planner's country is not party to is its parties' to launch
        (5, Command(country="CCC", scope="national"), "CCC is not party to it: AAA, BBB plan it"),
        # the operator plans every unit, and BBB has none
        (None, Command(), "BBB has no unit that may work in JO-1's regions"),
        # BBB's only unit has 1 shift, the operation needs 2
        (
            1,
            Command(),
            "BBB's units that may work in JO-1's regions have 1 shifts, 1 short of the 2",
        ),
    ],
)
def test_an_operation_a_party_cannot_staff_is_not_launched_and_says_why(
    make_inputs, unit, solver, b_shifts, command, reason
) -> None:
    units = _units(unit, b_shifts or 1)
    if b_shifts is None:
        units = units[:2]
    plan = plan_allocation(_inputs(make_inputs, units, command), solver)
    assert plan.status is Status.OPTIMAL
    assert reason in _reason(plan)


def test_an_agency_short_in_its_own_country_counts_on_its_other_agencies(
    make_inputs, unit, solver
) -> None:
    # A-BP reaches r1 only (r2 is 39 km away); BBB has pledged its part
    units = [unit("A-BP", "AAA", 5, home_region="r1", max_distance_km=20), *_units(unit)[1:]]
    inputs = _inputs(make_inputs, units, AAA_BP, fixed_effort=(_pledge("BBB", "r3", 2),))
    assert _reason(plan_allocation(inputs, solver)) == (
        "AAA Border Police plans its own units, none of which may work in JO-1's regions; the "
        "rest of AAA's 2 shifts is pledged by AAA's other agencies, which have pledged none"
    )


def test_a_pledge_short_of_the_minimum_says_how_much_is_pledged(make_inputs, unit) -> None:
    inputs = _inputs(make_inputs, _units(unit), AAA_BP, fixed_effort=(_pledge("BBB", "r3", 1),))
    assert _reason(plan_allocation(inputs)).endswith(
        "BBB's part is pledged by BBB, which has pledged 1 of the 2 shifts"
    )


def test_a_staffable_operation_left_out_says_it_was_not_chosen(make_inputs, unit) -> None:
    inputs = make_inputs(
        _units(unit),
        {"r1": 40.0, "r2": 0.0, "r3": 0.0, "r4": 40.0},
        agreements=[AGREEMENT],
        joint_operations=[JO],
    )
    assert _reason(plan_allocation(inputs)).startswith("not chosen:")


def _pledge(country: str, region: str, shifts: int, period: str = P) -> FixedEffort:
    return FixedEffort(
        region_id=region,
        period=dt.date.fromisoformat(period),
        country=country,
        shifts=shifts,
        source="JO-1 pledge",
    )


def test_a_pledge_of_the_other_party_lets_one_country_launch_the_operation(
    make_inputs, unit, solver
) -> None:
    pledge = _pledge("BBB", "r3", 3)
    inputs = _inputs(make_inputs, _units(unit), AAA_BP, fixed_effort=(pledge,))
    plan = plan_allocation(inputs, solver)
    ((_, outcome),) = plan.operation_periods()
    assert outcome.launched and outcome.status == "launched" and outcome.reason is None
    assert outcome.commitments["BBB"] == 3 and outcome.commitments["AAA"] >= 2
    assert _planned_units(plan) == {"A-BP"}  # the pledge is counted, never assigned
    assert plan.fixed_effort == (pledge,)
    assert plan.to_dict()["fixed_effort"][0]["region_id"] == "r3"
    # r3 holds the pledge, boosted by the operation, and any A-BP shifts sent there
    a_bp = sum(a.shifts for a in plan.assignments if a.region_id == "r3")
    (r3,) = [r for r in plan.regions if r.region_id == "r3"]
    assert r3.effort == pytest.approx(1.5 * (3 + a_bp))
    assert r3.shifts == a_bp


def _exact(activity: float, effort: float, kappa: float = 0.3) -> float:
    return activity * (1 - math.exp(-kappa * effort))


def test_fixed_effort_counts_in_the_objective_and_moves_the_plan_elsewhere(
    make_inputs, unit, solver
) -> None:
    units = [unit("A-BP", "AAA", 4)]
    inputs = make_inputs(units, {"r1": 10.0, "r2": 10.0, "r3": 0.0, "r4": 0.0})
    alone = plan_allocation(inputs, solver)
    assert alone.shifts_by_region() == {"r1": 2, "r2": 2, "r3": 0, "r4": 0}
    # AAA's coast guard has committed 6 shifts to r1: the border police go to r2
    fixed = (_pledge("AAA", "r1", 6), _pledge("AAA", "r1", 9, period="2026-03-09"))
    command = Command(country="AAA", agency="Border Police")
    plan = plan_allocation(dataclasses.replace(inputs, command=command, fixed_effort=fixed))
    assert plan.shifts_by_region() == {"r1": 0, "r2": 4, "r3": 0, "r4": 0}
    assert plan.effort_by_region()["r1"] == 6.0
    assert plan.objective == pytest.approx(_exact(10.0, 6.0) + _exact(10.0, 4.0))
    assert (plan.objective or 0.0) > (alone.objective or 0.0)
    # the baselines see the same fixed effort: only this plan's units move
    assert plan.baselines["uniform"] == pytest.approx(_exact(10.0, 8.0) + _exact(10.0, 2.0))
    assert plan.fixed_effort == fixed[:1]  # a period not planned is left out


def test_fixed_effort_in_an_unknown_region_is_refused(make_inputs, unit) -> None:
    from crossplan.optimize import InputError

    inputs = make_inputs([unit("A-BP", "AAA", 4)], ACTIVITY)
    with pytest.raises(InputError, match=r"fixed_effort\[0\].*unknown region 'r9'"):
        dataclasses.replace(inputs, fixed_effort=(_pledge("AAA", "r9", 1),))


def test_floors_bind_the_planner_where_its_units_may_work_in_its_own_country(
    make_inputs, unit, solver
) -> None:
    units = [unit("A-BP", "AAA", 5, regions=["r1"]), unit("B-BP", "BBB", 5)]
    inputs = make_inputs(units, ACTIVITY, policy={"min_shifts_per_region": 1})
    assert plan_allocation(inputs, solver).status is Status.INFEASIBLE  # r2: no AAA unit
    plan = plan_allocation(dataclasses.replace(inputs, command=AAA_BP), solver)
    assert plan.status is Status.OPTIMAL
    assert plan.shifts_by_region() == {"r1": 5, "r2": 0, "r3": 0, "r4": 0}
