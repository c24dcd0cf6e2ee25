"""Explanations: marginal values, binding constraints by name, the two simple policies."""

from __future__ import annotations

import numpy as np
import pytest

from crossplan.optimize import build_problem, plan_allocation
from crossplan.optimize.explain import proportional_allocation, uniform_allocation
from crossplan.optimize.names import REPORTED_FAMILIES, family
from crossplan.optimize.score import score

P = "2026-03-02"
OP = {
    "operation_id": "JO-1",
    "countries": ["AAA", "BBB"],
    "regions": ["r2", "r3"],
    "min_shifts_per_country": 2,
    "effort_multiplier": 1.5,
}


def _f(lam: float, kappa: float, effort: float) -> float:
    return lam * (1 - np.exp(-kappa * effort))


def test_marginal_value_is_the_exact_gain_of_one_more_shift(make_inputs, unit) -> None:
    inputs = make_inputs([unit("A1", "AAA", 4, efficiency=1.5)], {"r1": 3.0, "r2": 1.0}, kappa=0.25)
    plan = plan_allocation(inputs)
    for o in plan.regions:
        lam = {"r1": 3.0, "r2": 1.0}.get(o.region_id, 0.0)
        assert o.marginal_value == pytest.approx(
            _f(lam, 0.25, o.effort + 1) - _f(lam, 0.25, o.effort)
        )
        assert o.expected_interdictions == pytest.approx(_f(lam, 0.25, o.effort))
        assert o.effort == pytest.approx(1.5 * o.shifts)
    assert plan.objective == pytest.approx(sum(o.expected_interdictions for o in plan.regions))


@pytest.mark.parametrize(
    ("case", "binding", "not_binding"),
    [
        # every shift used: capacity binds, nothing else
        ({}, {f"capacity[A1,{P}]", f"capacity[B1,{P}]"}, {f"budget[{P}]"}),
        # a budget for 4 shifts out of 8
        ({"policy": {"budget": 4}}, {f"budget[{P}]"}, {f"capacity[A1,{P}]"}),
        # a generous budget does not bind
        ({"policy": {"budget": 100}}, {f"capacity[A1,{P}]"}, {f"budget[{P}]"}),
        # floors hold shifts in quiet r2 and r4
        ({"policy": {"min_shifts_per_region": 1}}, {f"floor[r2,{P}]", f"floor[r4,{P}]"}, set()),
        # a share cap stops r1 and r3 from taking more
        (
            {"policy": {"max_share_per_region": 0.3}},
            {f"share_cap[r1,{P}]", f"share_cap[r3,{P}]"},
            set(),
        ),
        # a launched operation held at BBB's minimum, whose units prefer r4
        (
            {
                "activity": {"r1": 1.0, "r2": 10.0, "r3": 0.2, "r4": 3.0},
                "agreements": [{"countries": ["AAA", "BBB"], "regions": ["r3"]}],
                "joint_operations": [{**OP, "effort_multiplier": 2.0}],
            },
            {f"commitment[JO-1,BBB,{P}]"},
            {f"commitment[JO-1,AAA,{P}]"},
        ),
        # two worthwhile operations, one allowed
        (
            {
                "agreements": [{"countries": ["AAA", "BBB"], "regions": ["r2", "r3"]}],
                "joint_operations": [
                    {**OP, "regions": ["r2"], "min_shifts_per_country": 1},
                    {**OP, "operation_id": "JO-2", "regions": ["r3"], "min_shifts_per_country": 1},
                ],
                "policy": {"max_joint_operations_per_period": 1},
            },
            {f"joint_limit[{P}]"},
            set(),
        ),
        # A1 would do most in BBB's busy r3, where no agreement lets it go
        (
            {"activity": {"r1": 0.3, "r2": 0.2, "r3": 9.0, "r4": 0.1}},
            {"jurisdiction[A1,r3]"},
            set(),
        ),
    ],
)
def test_binding_constraints_by_name(make_inputs, unit, case, binding, not_binding) -> None:
    inputs = make_inputs(
        [unit("A1", "AAA", 4), unit("B1", "BBB", 4)],
        case.get("activity", {"r1": 4.0, "r2": 0.2, "r3": 4.0, "r4": 0.2}),
        agreements=case.get("agreements", ()),
        joint_operations=case.get("joint_operations", ()),
        policy=case.get("policy"),
    )
    plan = plan_allocation(inputs, gap=1e-6)
    found = set(plan.binding_constraints)
    assert binding <= found, found
    assert not (not_binding & found), found
    named = set(build_problem(inputs).constraints)
    for name in found:
        assert family(name) in REPORTED_FAMILIES
        assert family(name) == "jurisdiction" or name in named


def test_uniform_spreads_each_unit_evenly_over_where_it_may_work(make_inputs, unit) -> None:
    inputs = make_inputs(
        [unit("A1", "AAA", 4), unit("B1", "BBB", 3, regions=["r4"])],
        {"r1": 2.0, "r2": 1.0, "r4": 1.0},
        kappa=0.5,
    )
    alloc = uniform_allocation(inputs)
    shifts = {
        (int(u), int(r)): s for u, r, s in zip(alloc.unit, alloc.region, alloc.shifts, strict=True)
    }
    assert shifts == {(0, 0): 2.0, (0, 1): 2.0, (1, 3): 3.0}
    expected = _f(2.0, 0.5, 2) + _f(1.0, 0.5, 2) + _f(1.0, 0.5, 3)
    assert float(score(inputs, alloc).sum()) == pytest.approx(expected)
    assert plan_allocation(inputs).baselines["uniform"] == pytest.approx(expected)


def test_proportional_follows_recent_counts_and_needs_them(make_inputs, unit) -> None:
    units = [unit("A1", "AAA", 6)]
    activity = {"r1": 2.0, "r2": 1.0}
    assert proportional_allocation(make_inputs(units, activity)) is None
    assert plan_allocation(make_inputs(units, activity)).baselines["proportional"] is None
    inputs = make_inputs(units, activity, recent_counts={"r1": 1.0, "r2": 2.0})
    alloc = proportional_allocation(inputs)
    assert alloc is not None
    assert dict(zip(alloc.region.tolist(), alloc.shifts.tolist(), strict=True)) == {0: 2.0, 1: 4.0}
    # all-zero counts: the unit spreads evenly
    zero = proportional_allocation(make_inputs(units, activity, recent_counts={"r1": 0.0}))
    assert zero is not None and zero.shifts.tolist() == [3.0, 3.0]


def test_baselines_are_scaled_to_the_budget(make_inputs, unit) -> None:
    inputs = make_inputs(
        [unit("A1", "AAA", 4, cost_per_shift=2.0)], {"r1": 1.0}, policy={"budget": 4.0}
    )
    alloc = uniform_allocation(inputs)
    assert alloc.shifts.sum() == pytest.approx(2.0)


def test_the_plan_beats_both_baselines_on_a_skewed_forecast(make_inputs, unit) -> None:
    inputs = make_inputs(
        [unit("A1", "AAA", 6), unit("B1", "BBB", 6)],
        {"r1": 8.0, "r2": 0.5, "r3": 0.5, "r4": 8.0},
        recent_counts={"r1": 1.0, "r2": 5.0, "r3": 5.0, "r4": 1.0},
    )
    plan = plan_allocation(inputs)
    assert plan.objective is not None
    assert plan.objective > plan.baselines["uniform"] > plan.baselines["proportional"]
