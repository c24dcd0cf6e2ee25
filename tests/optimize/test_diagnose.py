"""Infeasible inputs: a diagnosis that names the constraint and the shortfall."""

from __future__ import annotations

from typing import Any

import pytest

from crossplan.optimize import Status, build_problem, plan_allocation, precheck
from crossplan.optimize.diagnose import ELASTIC, PRE_SOLVE
from crossplan.optimize.solve import solve

P = "2026-03-02"
ACTIVITY = {"r1": 2.0, "r2": 1.0, "r3": 2.0, "r4": 1.0}


def _units(unit) -> list[dict[str, Any]]:
    return [unit("A1", "AAA", 3), unit("B1", "BBB", 3, cost_per_shift=2.0)]


@pytest.mark.parametrize(
    ("case", "constraint", "shortfall", "words"),
    [
        # floors above capacity: each country has 3 shifts for two floors of 2
        (
            {"policy": {"min_shifts_per_region": 2}},
            f"floor[*,{P}]",
            2.0,
            "the floors of 4 regions need 8 shifts, all units together have 6",
        ),
        # a region no unit may enter
        (
            {"units": [("A1", "AAA", 5, {})], "policy": {"min_shifts_per_region": 1}},
            f"floor[r3,{P}]",
            1.0,
            "no unit may work in region r3",
        ),
        # a budget below the floors' cost: 2 AAA floors at 1, 2 BBB floors at 2
        (
            {"policy": {"min_shifts_per_region": 1, "budget": 4.0}},
            f"budget[{P}]",
            2.0,
            "meeting the floors costs at least 6 per period, 2 over the budget of 4",
        ),
    ],
)
def test_quick_checks_name_the_constraint(
    make_inputs, unit, solver, case, constraint, shortfall, words
) -> None:
    units = case.get("units")
    inputs = make_inputs(
        _units(unit) if units is None else [unit(u, c, n, **e) for u, c, n, e in units],
        ACTIVITY,
        joint_operations=case.get("joint_operations", ()),
        policy=case.get("policy"),
    )
    plan = plan_allocation(inputs, solver)
    assert plan.status is Status.INFEASIBLE
    assert not plan.feasible and not plan.assignments and plan.objective is None
    found = {f.constraint: f for f in plan.diagnosis}
    assert constraint in found, plan.diagnosis_text()
    assert found[constraint].shortfall == pytest.approx(shortfall)
    assert words in found[constraint].message
    assert found[constraint].source == PRE_SOLVE
    assert constraint in plan.diagnosis_text()
    body = plan.to_dict()
    assert body["status"] == "infeasible"
    assert body["diagnosis"][0]["constraint"] == plan.diagnosis[0].constraint


def test_elastic_resolve_finds_what_the_quick_checks_miss(make_inputs, unit, solver) -> None:
    # Each region alone and all of them together look fine, but A1 (3 shifts) is the only
    # unit that may work in r1 and r2, whose floors need 2 each.
    inputs = make_inputs(
        [unit("A1", "AAA", 3, regions=["r1", "r2"]), unit("B1", "BBB", 9)],
        ACTIVITY,
        policy={"min_shifts_per_region": 2},
    )
    assert precheck(inputs) == []
    plan = plan_allocation(inputs, solver)
    assert plan.status is Status.INFEASIBLE
    (finding,) = plan.diagnosis
    assert finding.constraint in {f"floor[r1,{P}]", f"floor[r2,{P}]"}
    assert finding.shortfall == pytest.approx(1.0)
    assert finding.source == ELASTIC
    assert finding.message == "1 shift short of its floor"


def test_elastic_resolve_names_the_budget_when_floors_are_cheap(make_inputs, unit, solver) -> None:
    # Four floors of one shift at 0.5 each cost 2; the budget is 1. Going 1 over the budget
    # is a smaller violation than leaving 2 floors short, so the budget is named.
    inputs = make_inputs(
        [unit("A1", "AAA", 5, cost_per_shift=0.5), unit("B1", "BBB", 5, cost_per_shift=0.5)],
        ACTIVITY,
        policy={"min_shifts_per_region": 1, "budget": 1.0},
    )
    plan = solve(build_problem(inputs), solver)  # straight to the solver, no quick checks
    assert plan.status is Status.INFEASIBLE
    (finding,) = plan.diagnosis
    assert (finding.constraint, finding.unit) == (f"budget[{P}]", "cost")
    assert finding.shortfall == pytest.approx(1.0)


def test_a_region_no_unit_may_enter_straight_to_the_solver(make_inputs, unit, solver) -> None:
    # The model keeps the floor rows of r3 and r4 though they hold no variable.
    inputs = make_inputs([unit("A1", "AAA", 5)], ACTIVITY, policy={"min_shifts_per_region": 1})
    plan = solve(build_problem(inputs), solver)
    assert [(f.constraint, f.shortfall) for f in plan.diagnosis] == [
        (f"floor[r3,{P}]", 1.0),
        (f"floor[r4,{P}]", 1.0),
    ]


def test_a_feasible_plan_has_no_diagnosis(make_inputs, unit) -> None:
    plan = plan_allocation(make_inputs(_units(unit), ACTIVITY))
    assert plan.feasible and plan.diagnosis == () and plan.to_dict()["diagnosis"] is None
