"""Tiny instances against brute force: every integer allocation is tried.

The reference enumerates every way each unit can split its shifts over the regions it may
work in (not necessarily all of them), every set of joint operations to launch, keeps
what meets every constraint and scores it with the exact objective written out again here.
The optimizer must match the best one within the piecewise tolerance and the gap.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from crossplan.optimize import Inputs, plan_allocation

GAP = 1e-6
OP = {
    "operation_id": "JO-1",
    "countries": ["AAA", "BBB"],
    "regions": ["r2", "r3"],
    "min_shifts_per_country": 2,
    "effort_multiplier": 1.8,
}
OPEN_R3 = [{"countries": ["AAA", "BBB"], "regions": ["r3"]}]


def _splits(cap: int, n: int) -> np.ndarray:
    """Every vector of ``n`` non-negative integers summing to at most ``cap``."""
    return np.array([v for v in itertools.product(range(cap + 1), repeat=n) if sum(v) <= cap])


def brute_force(inputs: Inputs) -> float:
    """Best exact objective over every feasible integer allocation of the single period."""
    regions = inputs.regions.region_ids
    n_r = len(regions)
    options = []
    for u, unit in enumerate(inputs.units):
        allowed = np.flatnonzero(inputs.eligibility.matrix[u])
        splits = _splits(unit.shifts_per_period, len(allowed))
        rows = np.zeros((len(splits), n_r))
        rows[:, allowed] = splits
        options.append(rows)
    grids = np.meshgrid(*[np.arange(len(o)) for o in options], indexing="ij")
    x = np.stack([o[g.ravel()] for o, g in zip(options, grids, strict=True)], axis=1)
    eff = np.array([u.efficiency for u in inputs.units])
    cost = np.array([u.cost_per_shift for u in inputs.units])
    country = np.array([u.country for u in inputs.units])
    shifts = x.sum(axis=1)  # (N, regions)
    ok = np.ones(len(x), dtype=bool)
    p = inputs.policy
    if p.budget is not None:
        ok &= (x.sum(axis=2) * cost).sum(axis=1) <= p.budget + 1e-9
    ok &= (shifts >= p.min_shifts_per_region).all(axis=1)
    if p.max_share_per_region is not None:
        ok &= (shifts <= p.max_share_per_region * shifts.sum(axis=1, keepdims=True) + 1e-9).all(
            axis=1
        )
    base = (x * eff[None, :, None]).sum(axis=1)
    lam = inputs.activity[:, :, 0]
    kappa = inputs.forecast.detection_rate[:, :, 0]
    ops = inputs.joint_operations
    best = -np.inf
    for launch in itertools.product([False, True], repeat=len(ops)):
        limit = p.max_joint_operations_per_period
        if limit is not None and sum(launch) > limit:
            continue
        mult = np.ones(n_r)
        feasible = ok.copy()
        for op, on in zip(ops, launch, strict=True):
            if not on:
                continue
            inside = [regions.index(r) for r in op.regions]
            mult[inside] += op.effort_multiplier - 1
            for c in op.countries:
                committed = x[:, country == c][:, :, inside].sum(axis=(1, 2))
                feasible &= committed >= op.min_shifts_per_country
        effort = base * mult
        value = (lam[None] * (1 - np.exp(-kappa[None] * effort[:, :, None]))).sum(axis=(1, 2))
        if feasible.any():
            best = max(best, float(value[feasible].max()))
    return best


CASES: list[tuple[str, dict[str, Any]]] = [
    # two units of one country, nothing else
    ("plain", {"units": [("A1", "AAA", 3, {}), ("A2", "AAA", 2, {})]}),
    # a joint operation worth launching
    (
        "joint on",
        {
            "units": [("A1", "AAA", 3, {}), ("B1", "BBB", 3, {})],
            "agreements": OPEN_R3,
            "joint_operations": [OP],
        },
    ),
    # a joint operation whose commitment costs more than its boost brings
    (
        "joint off",
        {
            "units": [("A1", "AAA", 3, {}), ("B1", "BBB", 3, {"regions": ["r4"]})],
            "activity": {"r1": 6.0, "r2": 0.1, "r3": 0.1, "r4": 6.0},
            "agreements": [{"countries": ["AAA", "BBB"], "regions": ["r4"]}],
            "joint_operations": [
                {
                    **OP,
                    "min_shifts_per_country": 3,
                    "regions": ["r2", "r4"],
                    "effort_multiplier": 1.1,
                }
            ],
        },
    ),
    # a budget that binds, units of different cost and efficiency
    (
        "budget",
        {
            "units": [
                ("A1", "AAA", 3, {"cost_per_shift": 2.0, "efficiency": 1.5}),
                ("A2", "AAA", 3, {"cost_per_shift": 1.0, "efficiency": 0.8}),
            ],
            "policy": {"budget": 6.0},
        },
    ),
    # floors push shifts to a quiet region
    (
        "floors",
        {
            "units": [("A1", "AAA", 3, {}), ("B1", "BBB", 3, {})],
            "activity": {"r1": 5.0, "r2": 0.2, "r3": 4.0, "r4": 0.3},
            "policy": {"min_shifts_per_region": 1},
        },
    ),
    # a share cap spreads the shifts
    (
        "share cap",
        {
            "units": [("A1", "AAA", 3, {}), ("A2", "AAA", 3, {})],
            "activity": {"r1": 9.0, "r2": 0.5},
            "policy": {"max_share_per_region": 0.5},
        },
    ),
    # two categories with different detection rates, three units
    (
        "categories",
        {
            "units": [
                ("A1", "AAA", 2, {}),
                ("A2", "AAA", 2, {"efficiency": 1.3}),
                ("B1", "BBB", 2, {}),
            ],
            "categories": ("tip", "som"),
            "kappa": {"tip": 0.1, "som": 0.9},
        },
    ),
    # two operations, at most one launched
    (
        "operation limit",
        {
            "units": [("A1", "AAA", 3, {}), ("B1", "BBB", 3, {})],
            "agreements": [{"countries": ["AAA", "BBB"], "regions": ["r2", "r3"]}],
            "joint_operations": [
                {**OP, "regions": ["r2"], "min_shifts_per_country": 1},
                {**OP, "operation_id": "JO-2", "regions": ["r3"], "min_shifts_per_country": 1},
            ],
            "policy": {"max_joint_operations_per_period": 1},
        },
    ),
]


@pytest.mark.parametrize(("name", "case"), CASES, ids=[c[0] for c in CASES])
def test_optimum_matches_brute_force(make_inputs, unit, solver, name, case) -> None:
    inputs = make_inputs(
        [unit(uid, c, n, **extra) for uid, c, n, extra in case["units"]],
        case.get("activity", {"r1": 3.0, "r2": 1.0, "r3": 2.0, "r4": 0.5}),
        agreements=case.get("agreements", ()),
        joint_operations=case.get("joint_operations", ()),
        policy=case.get("policy"),
        categories=case.get("categories", ("all",)),
        kappa=case.get("kappa", 0.4),
    )
    best = brute_force(inputs)
    plan = plan_allocation(inputs, solver, gap=GAP)
    assert plan.objective is not None and plan.upper_bound is not None
    eps = plan.approximation_error
    assert plan.objective <= best + 1e-9
    assert plan.objective >= best * (1 - eps) * (1 - GAP) - 1e-9
    assert plan.upper_bound >= best - 1e-9


def test_brute_force_sees_the_joint_operation_trade_off(make_inputs, unit) -> None:
    # The reference itself: launching must matter in "joint on" and not in "joint off".
    on = dict(CASES)["joint on"]
    with_op = make_inputs(
        [unit(uid, c, n, **e) for uid, c, n, e in on["units"]],
        {"r1": 3.0, "r2": 1.0, "r3": 2.0, "r4": 0.5},
        agreements=on["agreements"],
        joint_operations=on["joint_operations"],
        kappa=0.4,
    )
    without = make_inputs(
        [unit(uid, c, n, **e) for uid, c, n, e in on["units"]],
        {"r1": 3.0, "r2": 1.0, "r3": 2.0, "r4": 0.5},
        agreements=on["agreements"],
        kappa=0.4,
    )
    assert brute_force(with_op) > brute_force(without) + 1e-6
