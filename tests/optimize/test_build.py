"""The model as built: variables only where units may work, every constraint named."""

from __future__ import annotations

import warnings

import pulp
import pytest

from crossplan.optimize import build_problem
from crossplan.optimize.names import family
from crossplan.optimize.synthetic import random_inputs

P = "2026-03-02"


@pytest.fixture
def border_instance(make_inputs, unit):
    """Two AAA units, one BBB unit; r3 opened to AAA; a joint operation over r2 and r3."""
    return make_inputs(
        [unit("A1", "AAA", 4, cost_per_shift=2.0), unit("A2", "AAA", 3), unit("B1", "BBB", 5)],
        {"r1": 1.0, "r2": 2.0, "r3": 3.0, "r4": 0.5},
        agreements=[{"countries": ["AAA", "BBB"], "regions": ["r3"]}],
        joint_operations=[
            {
                "operation_id": "JO-1",
                "countries": ["AAA", "BBB"],
                "regions": ["r2", "r3"],
                "min_shifts_per_country": 2,
                "effort_multiplier": 1.5,
            }
        ],
        policy={
            "budget": 20,
            "min_shifts_per_region": 1,
            "max_share_per_region": 0.6,
            "max_joint_operations_per_period": 1,
        },
    )


def test_shift_variables_exist_only_for_eligible_pairs(border_instance) -> None:
    problem = build_problem(border_instance)
    ids = border_instance.regions.region_ids
    pairs = {(border_instance.units[u].unit_id, ids[r]) for u, r, _ in problem.shifts}
    assert pairs == {
        ("A1", "r1"), ("A1", "r2"), ("A1", "r3"),
        ("A2", "r1"), ("A2", "r2"), ("A2", "r3"),
        ("B1", "r3"), ("B1", "r4"),
    }  # fmt: skip
    assert all(v.cat == pulp.LpInteger for v in problem.shifts.values())
    assert all(v.upBound == border_instance.units[u].shifts_per_period
               for (u, _, _), v in problem.shifts.items())  # fmt: skip


def test_every_constraint_has_a_name_that_says_what_it_is(border_instance) -> None:
    problem = build_problem(border_instance)
    names = set(problem.constraints)
    expected = {
        f"capacity[A1,{P}]", f"capacity[A2,{P}]", f"capacity[B1,{P}]",
        f"budget[{P}]",
        f"floor[r1,{P}]", f"floor[r2,{P}]", f"floor[r3,{P}]", f"floor[r4,{P}]",
        f"share_cap[r1,{P}]", f"share_cap[r4,{P}]",
        f"commitment[JO-1,AAA,{P}]", f"commitment[JO-1,BBB,{P}]",
        f"joint_limit[{P}]",
        f"effort[r1,{P}]", f"total_shifts[{P}]",
        f"joint_part[JO-1,A1,r2,{P}]", f"joint_boost[JO-1,B1,{P}]", f"joint_all[JO-1,A2,{P}]",
    }  # fmt: skip
    assert expected <= names
    families = {family(n) for n in names}
    assert families == {
        "capacity", "budget", "floor", "share_cap", "commitment", "joint_limit",
        "effort", "total_shifts", "joint_part", "joint_boost", "joint_all",
    }  # fmt: skip
    # every named constraint is in its period's model, and nothing else is
    (model,) = problem.models
    assert len(model.constraints()) == len(problem.constraints)


def test_constraint_rows_hold_what_their_name_says(border_instance) -> None:
    problem = build_problem(border_instance)
    ids = border_instance.regions.region_ids
    x = {(border_instance.units[u].unit_id, ids[r]): v for (u, r, _), v in problem.shifts.items()}
    budget = problem.constraints[f"budget[{P}]"]
    assert budget.sense == pulp.LpConstraintLE and budget.getUb() == 20
    assert budget.expr[x["A1", "r1"]] == 2.0 and budget.expr[x["B1", "r4"]] == 1.0
    floor = problem.constraints[f"floor[r3,{P}]"]
    assert set(floor.expr) == {x["A1", "r3"], x["A2", "r3"], x["B1", "r3"]}
    assert floor.getLb() == 1
    # a launched operation counts a country's boosted shifts, which are all of its shifts
    commit = problem.constraints[f"commitment[JO-1,BBB,{P}]"]
    (y,) = problem.launches.values()
    b1 = border_instance.units.index(next(u for u in border_instance.units if u.unit_id == "B1"))
    assert commit.expr[y] == -2.0
    assert set(commit.expr) - {y} == {problem.boosted[(0, b1, 2, 0)]}
    every = problem.constraints[f"joint_all[JO-1,B1,{P}]"]
    assert every.expr[x["B1", "r3"]] == 1.0 and every.expr[y] == 5.0 and every.getUb() == 5.0


def test_no_floor_budget_share_or_joint_rows_when_the_policy_has_none(make_inputs, unit) -> None:
    inputs = make_inputs([unit("A1", "AAA", 4)], {"r1": 1.0})
    families = {family(n) for n in build_problem(inputs).constraints}
    assert families == {"capacity", "effort"}


def test_one_model_per_period_and_names_carry_the_period(make_inputs, unit) -> None:
    inputs = make_inputs([unit("A1", "AAA", 4)], {"r1": [1.0, 2.0, 3.0]})
    problem = build_problem(inputs)
    assert len(problem.models) == 3
    assert {n for n in problem.constraints if n.startswith("capacity")} == {
        "capacity[A1,2026-03-02]", "capacity[A1,2026-03-09]", "capacity[A1,2026-03-16]",
    }  # fmt: skip


def test_elastic_model_gives_floors_budget_and_caps_a_slack(border_instance) -> None:
    problem = build_problem(border_instance, elastic=True)
    assert problem.elastic and problem.curves is None
    assert {family(n) for n in problem.slacks} == {"floor", "budget", "share_cap"}
    assert not problem.launches


def test_building_warns_nothing_and_reports_the_curve_error() -> None:
    inputs = random_inputs(30, 12, 2, n_countries=3, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problem = build_problem(inputs)
    assert 0 < problem.approximation_error < 0.01
    assert problem.build_seconds > 0
