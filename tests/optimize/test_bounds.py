"""The relaxed bound: checked against the relaxed LP solved whole over every pair and
segment, the slow and obvious reference, and against plans."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from crossplan.optimize import Inputs
from crossplan.optimize.bounds import (
    _best_pairs,
    _boost,
    _coarsen,
    _layout,
    _Relaxed,
    _Segments,
    relaxed_bound,
)
from crossplan.optimize.build import inputs_curves
from crossplan.optimize.command import FixedEffort
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


def _committed_and_idle(inputs: Inputs) -> Inputs:
    """Other agencies' effort in a third of the regions (in some, past the curve's end), and
    a unit with no shifts."""
    rng = np.random.default_rng(3)
    rows = []
    for t, period in enumerate(inputs.periods):
        for r in rng.choice(len(inputs.regions.region_ids), len(inputs.regions.region_ids) // 3):
            rows.append(
                FixedEffort(
                    region_id=inputs.regions.region_ids[r],
                    period=dt.date.fromisoformat(str(period)[:10]),
                    country=inputs.regions.countries[r],
                    shifts=int(rng.choice([1, 3, 10, 10_000])) + t,
                )
            )
    idle = inputs.units[0].model_copy(update={"shifts_per_period": 0})
    return dataclasses.replace(inputs, fixed_effort=tuple(rows), units=(idle, *inputs.units[1:]))


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


@pytest.fixture(params=[0, 1, 2, "committed"], ids=["two", "four", "wide", "committed"])
def instance(request: pytest.FixtureRequest) -> tuple[Inputs, Curves, float]:
    if request.param == "committed":
        inputs = _committed_and_idle(random_inputs(**INSTANCES[1]))
    else:
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
    # From nothing, the columns grow until the bound settles (within 0.01%) on the LP's
    # optimum.
    assert lp * (1 - 1e-9) <= relaxed_bound(inputs, curves) <= lp * (1 + 1e-4)
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


def test_each_unit_s_best_pairs_are_chosen() -> None:
    unit = np.array([0, 0, 0, 1, 1, 2, 0])
    value = np.array([5.0, 1.0, 3.0, 2.0, 9.0, 0.0, 4.0])
    # unit 0: 5 and 4; unit 1: both; unit 2: its only one
    assert _best_pairs(unit, value, 2).tolist() == [True, False, False, True, True, True, True]


def test_coarse_curves_keep_each_region_s_width_and_falling_slopes() -> None:
    inputs = random_inputs(**INSTANCES[1])
    curves = inputs_curves(inputs)
    n_t = len(inputs.periods)
    curve, start = _layout(curves)
    on = curve % n_t == 0
    seg = _Segments(curve[on] // n_t, curves.widths[on], curves.slopes[on])
    n_r = len(inputs.regions.region_ids)
    hint = np.random.default_rng(1).uniform(0, 2 * seg.width.sum() / n_r, n_r)
    hint[::4] = 0.0  # regions a plan leaves empty
    coarse = _coarsen(seg, start[on], hint)
    assert len(coarse.width) < len(seg.width)
    width = np.bincount(coarse.region, weights=coarse.width, minlength=n_r)
    assert width == pytest.approx(np.bincount(seg.region, weights=seg.width, minlength=n_r))
    for r in range(n_r):
        mine, exact = coarse.slope[coarse.region == r], seg.slope[seg.region == r]
        assert len(mine) <= len(exact)
        # merged segments take slopes of their own: between the curve's first and last
        assert mine.max() <= exact.max() and mine.min() >= exact.min()
