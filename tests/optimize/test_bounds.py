"""The relaxed bound: checked against the relaxed LP solved whole over every pair and
segment, the slow and obvious reference, and against plans."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from crossplan.optimize import Inputs
from crossplan.optimize.bounds import _boost, _layout, _Relaxed, _Segments, relaxed_bound
from crossplan.optimize.build import inputs_curves
from crossplan.optimize.curve import Curves
from crossplan.optimize.heuristics import greedy_allocation
from crossplan.optimize.score import effective_effort
from crossplan.optimize.synthetic import random_inputs

INSTANCES = [
    # small, two countries, one joint operation
    dict(n_regions=40, n_units=8, n_periods=2, n_countries=2, seed=5),
    # several countries along borders, operations between each pair
    dict(n_regions=120, n_units=24, n_periods=3, n_countries=4, seed=1),
    # wide agreements: units reach far into their neighbours
    dict(n_regions=90, n_units=15, n_periods=2, n_countries=3, border_km=120.0, seed=7),
]


def _reference(inputs: Inputs, curves: Curves, t: int) -> float:
    """Period ``t`` of the relaxed LP (module docstring), every pair and segment, solved
    whole."""
    uu, rr = inputs.eligibility.pairs
    eff = np.array([u.efficiency for u in inputs.units])
    cap = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
    n_u, n_r, n_t = len(inputs.units), len(inputs.regions.region_ids), len(inputs.periods)
    m = _boost(inputs)[:, t]
    curve, _ = _layout(curves)
    on = curve % n_t == t
    region, width, slope = curve[on] // n_t, curves.widths[on], curves.slopes[on]
    n_x, n_s = len(uu), len(width)
    rows = np.concatenate([uu, n_u + rr, n_u + region])
    cols = np.concatenate([np.arange(n_x), np.arange(n_x), n_x + np.arange(n_s)])
    vals = np.concatenate([np.ones(n_x), -m[rr] * eff[uu], np.ones(n_s)])
    a_ub = sparse.csr_array((vals, (rows, cols)), shape=(n_u + n_r, n_x + n_s))
    b_ub = np.concatenate([cap, m * inputs.fixed.effort[:, t]])
    bounds = np.column_stack([np.zeros(n_x + n_s), np.concatenate([cap[uu], width])])
    c = np.concatenate([np.zeros(n_x), -slope])
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert result.status == 0
    return -float(result.fun)


@pytest.fixture(params=range(len(INSTANCES)), ids=["two", "four", "wide"])
def instance(request: pytest.FixtureRequest) -> tuple[Inputs, Curves, float]:
    inputs = random_inputs(**INSTANCES[request.param])
    curves = inputs_curves(inputs)
    lp = sum(_reference(inputs, curves, t) for t in range(len(inputs.periods)))
    return inputs, curves, lp


def test_any_prices_bound_the_relaxed_lp(instance: tuple[Inputs, Curves, float]) -> None:
    inputs, curves, _ = instance
    relaxed = _Relaxed.of(inputs, curves)
    rng = np.random.default_rng(0)
    n_t = len(inputs.periods)
    for t in range(n_t):
        lp = _reference(inputs, curves, t)
        curve, start = _layout(curves)
        on = curve % n_t == t
        seg = _Segments(curve[on] // n_t, curves.widths[on], curves.slopes[on])
        m = relaxed.boost[:, t]
        free = m * relaxed.fixed[:, t]
        gain = m[relaxed.region] * relaxed.efficiency[relaxed.unit]
        top = float(curves.slopes.max()) * 2
        # zero, tiny, random, huge prices; some units free, the rest priced out
        for prices in (
            np.zeros(len(inputs.units)),
            np.full(len(inputs.units), 1e-9),
            *(rng.uniform(0, top, len(inputs.units)) for _ in range(20)),
            np.full(len(inputs.units), 1e9),
            np.where(rng.random(len(inputs.units)) < 0.5, 0.0, 1e9),
        ):
            b = relaxed._lagrangian(prices, seg, start[on], free, gain)
            assert b >= lp * (1 - 1e-9)


def test_the_bound_settles_on_the_relaxed_lp(instance: tuple[Inputs, Curves, float]) -> None:
    inputs, curves, lp = instance
    # From nothing, the columns grow until every pair prices out: the LP's optimum.
    assert relaxed_bound(inputs, curves) == pytest.approx(lp, rel=1e-6)
    # From a plan, coarsened curves and a few columns: above the LP, and close to it.
    plan = greedy_allocation(inputs)
    assert plan is not None
    bound = relaxed_bound(inputs, curves, plan=plan)
    assert lp * (1 - 1e-9) <= bound <= lp * 1.002
    assert bound >= float(curves.value(effective_effort(inputs, plan)).sum())


def test_a_spent_deadline_still_gives_a_bound(instance: tuple[Inputs, Curves, float]) -> None:
    inputs, curves, lp = instance
    plan = greedy_allocation(inputs)
    assert plan is not None
    # No LP runs: the bound is read at the plan's own marginal values.
    bound = relaxed_bound(inputs, curves, deadline=time.monotonic() - 1.0, plan=plan)
    assert np.isfinite(bound) and bound >= lp * (1 - 1e-9)
    assert bound >= relaxed_bound(inputs, curves, plan=plan) * (1 - 1e-12)
