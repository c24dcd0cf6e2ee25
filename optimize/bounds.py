"""An upper bound on any plan's value: the LP relaxation of a relaxed model, solved whole.

Relax the allocation model (docs/design.md, "Reference allocation model") to what bounds
every plan and is cheap to solve: shifts continuous; every joint operation that can launch
in a period launched there (its regions' effort multiplied by the largest multiplier ``M``
they can have); commitments, reservations, floors, budget, share caps and the operations cap
dropped. What is left, per period, is an LP over shifts and curve segments only::

    max Σ_k σ_k s_k   s.t.   Σ_r x[u,r] ≤ cap_u,
                             Σ_k s[r,k] − M_r Σ_u eff_u x[u,r] ≤ M_r F_r,
                             0 ≤ s ≤ width,  x ≥ 0

(``F`` the fixed effort), whose optimum bounds the piecewise value of every plan. Segments
past twice the effort a plan at hand puts in a region are merged into one with the slope of
the first of them (slopes decrease, so the merged curve lies above the piecewise one and
the bound still holds), which leaves the LP a few segments a region. It is built as sparse arrays (no PuLP objects) and solved with HiGHS through SciPy, so it stays
cheap where the full model is not; it bounds a plan put together from blocks that share
regions (:mod:`optimize.decompose`), whichever solver solved the blocks.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from crossplan.optimize.curve import Curves
from crossplan.optimize.inputs import Inputs

__all__ = ["relaxed_bound", "relaxed_bound_beside"]

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossplan-bound")


def relaxed_bound_beside(
    inputs: Inputs, curves: Curves, deadline: float | None, effort: np.ndarray | None
) -> Future[float | None]:
    """:func:`relaxed_bound` in a thread beside the solvers (HiGHS frees the interpreter,
    CBC runs in a process of its own), stopped by its own time limit at ``deadline``."""
    return _POOL.submit(relaxed_bound, inputs, curves, deadline, effort)


def relaxed_bound(
    inputs: Inputs,
    curves: Curves,
    deadline: float | None = None,
    effort: np.ndarray | None = None,
) -> float | None:
    """The LP bound above on the piecewise objective, or ``None`` when an LP did not finish
    by ``deadline`` (``time.monotonic()``); ``effort`` (regions, periods): a plan's effective
    effort, past twice which segments are merged (``None``: none are)."""
    uu, rr = inputs.eligibility.pairs
    eff = np.array([u.efficiency for u in inputs.units], dtype=float)
    cap = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
    n_u, n_r = len(inputs.units), len(inputs.regions.region_ids)
    boost = _boost(inputs)
    n_t = len(inputs.periods)
    curve_of, starts = _layout(curves)
    total = 0.0
    for t in range(n_t):
        on = curve_of % n_t == t
        region, width, slope = curve_of[on] // n_t, curves.widths[on], curves.slopes[on]
        if effort is not None:
            width, slope, region = _merge_tail(width, slope, region, starts[on], effort[:, t])
        n_x, n_s = len(uu), len(width)
        m = boost[:, t]
        rows = np.concatenate([uu, n_u + rr, n_u + region])
        cols = np.concatenate([np.arange(n_x), np.arange(n_x), n_x + np.arange(n_s)])
        vals = np.concatenate([np.ones(n_x), -m[rr] * eff[uu], np.ones(n_s)])
        a_ub = sparse.csr_array((vals, (rows, cols)), shape=(n_u + n_r, n_x + n_s))
        b_ub = np.concatenate([cap, m * inputs.fixed.effort[:, t]])
        c = np.concatenate([np.zeros(n_x), -slope])
        bounds = np.column_stack([np.zeros(n_x + n_s), np.concatenate([cap[uu], width])])
        options: dict[str, float | bool] = {"presolve": True}
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            options["time_limit"] = left
        result = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs", options=options)
        if result.status != 0:
            return None
        total += -float(result.fun)
    return total


def _layout(curves: Curves) -> tuple[np.ndarray, np.ndarray]:
    """Curve of each segment, and where the segment starts on its curve."""
    counts = np.diff(curves.offsets)
    curve = np.repeat(np.arange(len(counts)), counts)
    ends = np.cumsum(curves.widths)
    first = np.concatenate([[0.0], ends])[curves.offsets[:-1]]
    return curve, ends - curves.widths - np.repeat(first, counts)


def _merge_tail(
    width: np.ndarray, slope: np.ndarray, region: np.ndarray, start: np.ndarray, hint: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments starting past twice ``hint`` merged into one per region, with the largest
    (first) slope among them."""
    tail = start > 2.0 * hint[region]
    if not tail.any():
        return width, slope, region
    n_r = len(hint)
    merged_width = np.bincount(region[tail], weights=width[tail], minlength=n_r)
    merged_slope = np.zeros(n_r)
    np.maximum.at(merged_slope, region[tail], slope[tail])
    has = merged_width > 0
    return (
        np.concatenate([width[~tail], merged_width[has]]),
        np.concatenate([slope[~tail], merged_slope[has]]),
        np.concatenate([region[~tail], np.flatnonzero(has)]),
    )


def _boost(inputs: Inputs) -> np.ndarray:
    """Largest multiplier of each (region, period): every operation that can launch there
    launched."""
    live = inputs.staffing.possible | inputs.forced
    index = inputs.regions.index
    out = np.ones((len(inputs.regions.region_ids), len(inputs.periods)))
    for j, op in enumerate(inputs.joint_operations):
        rows = np.array(sorted({index[r] for r in op.regions}), dtype=int)
        out[np.ix_(rows, np.flatnonzero(live[j]))] += op.effort_multiplier - 1.0
    return out
