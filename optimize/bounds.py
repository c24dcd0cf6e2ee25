"""An upper bound on any plan's value: a Lagrangian bound of a relaxed model, priced by a
small LP.

Relax the allocation model (docs/design.md, "Reference allocation model") to what bounds
every plan: shifts continuous; every joint operation that can launch in a period launched
there (its regions' effort multiplied by the largest multiplier ``M`` they can have);
commitments, reservations, floors, budget, share caps and the operations cap dropped. What is
left, per period, is an LP over shifts and curve segments::

    max Σ_k σ_k s_k   s.t.   Σ_r x[u,r] ≤ cap_u                       (price λ_u)
                             Σ_k s[r,k] − M_r Σ_u eff_u x[u,r] ≤ M_r F_r,
                             0 ≤ s ≤ width,  x ≥ 0

(``F`` the fixed effort), whose optimum bounds the piecewise value of every plan. Price the
units' capacities at any ``λ ≥ 0`` and the rest splits by region: region ``r`` has ``M_r F_r``
of effort free and buys the rest at its cheapest eligible unit's price
``π_r = min_u λ_u / (M_r eff_u)``, so::

    B(λ) = Σ_u λ_u cap_u + Σ_r Σ_k [σ_k · free part of k + max(0, σ_k − π_r) · rest of k]

bounds the LP, and so every plan, whatever ``λ`` (weak duality); at the LP's own prices it
equals the LP's optimum. The prices come from the LP restricted to a few columns (column
generation): the unit-region pairs the plan at hand uses and each unit's
:data:`_BEST_PAIRS` best at that plan's marginal values, on curves coarsened around the
plan's effort (segments ending below half of it merged into one of their smallest slope,
those starting past twice it, or past a floor where the plan leaves a region nearly empty,
into one of their largest: prices only need the margin right).
Pairs its prices value above their unit's price join and it is solved again, until ``B``
stops falling. ``B`` is evaluated on the exact curves at every round, and the smallest kept:
the first, at prices read off the plan itself, comes before any LP, so there is a bound
whatever the deadline leaves. At 50,000 regions this is 3.3× faster than the LP over every
pair and segment, and tighter (docs/design.md, "Reference allocation model").

It is built as sparse arrays (no PuLP objects) and solved with HiGHS through SciPy, so it
stays cheap where the full model is not; it bounds a plan put together from blocks that
share regions (:mod:`optimize.decompose`), whichever solver solved the blocks.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from crossplan.optimize.curve import Curves
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.score import Allocation, effective_effort

__all__ = ["relaxed_bound", "relaxed_bound_beside"]

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossplan-bound")

# Pairs of each unit in the first restricted LP, best first at the plan's marginal values.
_BEST_PAIRS = 5
# Rounds of the restricted LP per period at most; they stop sooner once the bound falls by
# less than this share.
_ROUNDS = 8
# The restricted LP's curves: segments ending below _HEAD times the plan's effort, and
# starting past _TAIL times it, are merged; in a region the plan leaves (nearly) empty, "it"
# is the _FLOOR quantile of the plan's positive efforts, lest a region the LP would staff
# look as rich as its first segment all along (which skews every price, 0.15% at 10,000
# regions).
_HEAD, _TAIL, _FLOOR = 0.5, 2.0, 0.1
_SETTLED = 1e-4


def relaxed_bound_beside(
    inputs: Inputs, curves: Curves, deadline: float | None, plan: Allocation | None
) -> Future[float]:
    """:func:`relaxed_bound` in a thread beside the solvers (HiGHS frees the interpreter,
    CBC runs in a process of its own), its LPs stopped at ``deadline``."""
    return _POOL.submit(relaxed_bound, inputs, curves, deadline, plan)


def relaxed_bound(
    inputs: Inputs,
    curves: Curves,
    deadline: float | None = None,
    plan: Allocation | None = None,
) -> float:
    """The bound ``B`` above on the piecewise objective, the smallest found by ``deadline``
    (``time.monotonic()``; ``None``: until it settles).

    ``plan``: a plan at hand, whose pairs and marginal values give the first columns and
    prices and whose effort the LP's curves are coarsened around (``None``: prices start at
    zero, columns at the fixed effort's marginal values, and the curves are whole).
    """
    relaxed = _Relaxed.of(inputs, curves)
    effort = None if plan is None else effective_effort(inputs, plan)
    n_t, n_r = len(inputs.periods), len(inputs.regions.region_ids)
    total = 0.0
    for t in range(n_t):
        # Each period its share of the time left, lest the first take it all.
        until = None if deadline is None else time.monotonic() + _left(deadline) / (n_t - t)
        hint = None if effort is None else effort[:, t]
        used = np.zeros(0, dtype=int)
        if plan is not None:
            on = plan.period == t
            used = plan.unit[on] * n_r + plan.region[on]
        total += relaxed.period_bound(t, hint, used, until)
    return total


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


@dataclass(frozen=True)
class _Relaxed:
    """The relaxed model's arrays, shared by its periods."""

    unit: np.ndarray  # eligible pairs' unit
    region: np.ndarray  # eligible pairs' region
    efficiency: np.ndarray  # per unit
    capacity: np.ndarray  # shifts per period, per unit
    boost: np.ndarray  # (regions, periods): M
    fixed: np.ndarray  # (regions, periods): F
    curves: Curves
    curve_of: np.ndarray  # per segment
    start: np.ndarray  # per segment: where it starts on its curve

    @classmethod
    def of(cls, inputs: Inputs, curves: Curves) -> _Relaxed:
        unit, region = inputs.eligibility.pairs
        capacity = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
        working = capacity[unit] > 0  # a unit with no shifts adds nothing, at any price
        curve_of, start = _layout(curves)
        return cls(
            unit=unit[working],
            region=region[working],
            efficiency=np.array([u.efficiency for u in inputs.units], dtype=float),
            capacity=capacity,
            boost=_boost(inputs),
            fixed=inputs.fixed.effort,
            curves=curves,
            curve_of=curve_of,
            start=start,
        )

    def period_bound(
        self, t: int, hint: np.ndarray | None, used: np.ndarray, deadline: float | None
    ) -> float:
        """The smallest ``B`` of period ``t`` found by ``deadline``; ``hint``: the plan's
        effective effort in ``t``, ``used``: its pairs there (as ``unit · regions +
        region``)."""
        n_t = self.curves.n_periods
        on = self.curve_of % n_t == t
        seg = _Segments(self.curve_of[on] // n_t, self.curves.widths[on], self.curves.slopes[on])
        start = self.start[on]
        m = self.boost[:, t]
        free = m * self.fixed[:, t]
        gain = m[self.region] * self.efficiency[self.unit]  # effective effort per shift
        n_r = len(m)
        # Marginal values at the plan: each region's slope there, each unit's best of them.
        margin = _slope_at(seg, start, free if hint is None else hint, n_r)
        value = margin[self.region] * gain
        prices = np.zeros_like(self.capacity)
        if hint is not None:
            np.maximum.at(prices, self.unit, value)
        best = self._lagrangian(prices, seg, start, free, gain)
        coarse = seg if hint is None else _coarsen(seg, start, hint)
        chosen = _best_pairs(self.unit, value, _BEST_PAIRS)
        chosen |= np.isin(self.unit * n_r + self.region, used)
        for round_ in range(_ROUNDS):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            duals = self._restricted_duals(np.flatnonzero(chosen), coarse, free, gain, left)
            if duals is None:
                break
            prices, margin = duals
            found = self._lagrangian(prices, seg, start, free, gain)
            # The first LP's prices may price worse than the plan's own: it always goes on.
            settled = round_ > 0 and found > best * (1 - _SETTLED)
            best = min(best, found)
            priced = margin[self.region] * gain - prices[self.unit]
            joining = (priced > 1e-9 * np.maximum(1.0, prices[self.unit])) & ~chosen
            if settled or not joining.any():
                break
            chosen |= joining
        return best

    def _lagrangian(
        self,
        prices: np.ndarray,
        seg: _Segments,
        start: np.ndarray,
        free: np.ndarray,
        gain: np.ndarray,
    ) -> float:
        """``B(λ)`` of one period on its exact segments (``prices`` ≥ 0, one per unit)."""
        cheapest = np.full(len(free), np.inf)
        np.minimum.at(cheapest, self.region, prices[self.unit] / gain)
        inside = np.clip(free[seg.region] - start, 0.0, seg.width)
        bought = np.maximum(0.0, seg.slope - cheapest[seg.region]) * (seg.width - inside)
        return float(prices @ self.capacity + np.maximum(seg.slope, 0.0) @ inside + bought.sum())

    def _restricted_duals(
        self,
        pairs: np.ndarray,
        seg: _Segments,
        free: np.ndarray,
        gain: np.ndarray,
        left: float | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Units' and regions' prices from the LP over ``pairs`` only (``None``: it did not
        finish in ``left`` seconds)."""
        n_u, n_r = len(self.capacity), len(free)
        uu, rr = self.unit[pairs], self.region[pairs]
        n_x, n_s = len(pairs), len(seg.width)
        rows = np.concatenate([uu, n_u + rr, n_u + seg.region])
        cols = np.concatenate([np.arange(n_x), np.arange(n_x), n_x + np.arange(n_s)])
        vals = np.concatenate([np.ones(n_x), -gain[pairs], np.ones(n_s)])
        a_ub = sparse.csr_array((vals, (rows, cols)), shape=(n_u + n_r, n_x + n_s))
        b_ub = np.concatenate([self.capacity, free])
        c = np.concatenate([np.zeros(n_x), -seg.slope])
        # Each pair is bounded by its unit's shifts, which its row implies: HiGHS solves
        # these twice as fast at 10,000 regions. The cost is a bound 0.001% looser, where a
        # degenerate optimum puts a unit's price on a pair's bound instead of its row.
        bounds = np.column_stack(
            [np.zeros(n_x + n_s), np.concatenate([self.capacity[uu], seg.width])]
        )
        options: dict[str, float | bool] = {"presolve": True}
        if left is not None:
            options["time_limit"] = left
        result = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs", options=options)
        if result.status != 0:
            return None
        duals = np.maximum(0.0, -result.ineqlin.marginals)
        return duals[:n_u], duals[n_u:]


@dataclass(frozen=True)
class _Segments:
    """One period's curve segments: region, width and slope of each."""

    region: np.ndarray
    width: np.ndarray
    slope: np.ndarray


def _layout(curves: Curves) -> tuple[np.ndarray, np.ndarray]:
    """Curve of each segment, and where the segment starts on its curve."""
    counts = np.diff(curves.offsets)
    curve = np.repeat(np.arange(len(counts)), counts)
    ends = np.cumsum(curves.widths)
    first = np.concatenate([[0.0], ends])[curves.offsets[:-1]]
    return curve, ends - curves.widths - np.repeat(first, counts)


def _slope_at(seg: _Segments, start: np.ndarray, effort: np.ndarray, n_r: int) -> np.ndarray:
    """Each region's marginal value at ``effort``: the slope of the segment it falls in (0
    past the curve's end)."""
    at = effort[seg.region]
    inside = (start <= at) & (at < start + seg.width)
    out = np.zeros(n_r)
    out[seg.region[inside]] = seg.slope[inside]
    return out


def _best_pairs(unit: np.ndarray, value: np.ndarray, k: int) -> np.ndarray:
    """Mask of each unit's ``k`` pairs of highest ``value``."""
    order = np.lexsort((-value, unit))
    first = np.searchsorted(unit[order], unit[order])
    chosen = np.zeros(len(unit), dtype=bool)
    chosen[order[np.arange(len(unit)) - first < k]] = True
    return chosen


def _coarsen(seg: _Segments, start: np.ndarray, hint: np.ndarray) -> _Segments:
    """Segments ending below :data:`_HEAD` times ``hint`` merged into one per region with
    their smallest slope, those starting past :data:`_TAIL` times it (or the floor) into one
    with their largest; slopes still decrease along each curve."""
    head = start + seg.width <= _HEAD * hint[seg.region]
    floor = np.quantile(hint[hint > 0], _FLOOR) if (hint > 0).any() else 0.0
    tail = start > _TAIL * np.maximum(hint, floor)[seg.region]
    keep = ~(head | tail)
    n_r = len(hint)
    parts = [(seg.region[keep], seg.width[keep], seg.slope[keep])]
    for mask, pick, empty in ((head, np.minimum, np.inf), (tail, np.maximum, 0.0)):
        width = np.bincount(seg.region[mask], weights=seg.width[mask], minlength=n_r)
        slope = np.full(n_r, empty)
        pick.at(slope, seg.region[mask], seg.slope[mask])
        has = width > 0
        parts.append((np.flatnonzero(has), width[has], slope[has]))
    region, width, slope = (np.concatenate(p) for p in zip(*parts, strict=True))
    return _Segments(region, width, slope)


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
