"""Why a plan looks the way it does: marginal values, binding constraints, baselines.

Everything here works on an :class:`~optimize.score.Allocation` and the exact curve, so
the same code explains the solver's plan and scores the two simple policies a planner
compares it with: *uniform* (each unit spreads its shifts evenly over every region it may
work in) and *proportional* (each unit spreads its shifts in proportion to recent observed
counts, i.e. current practice). Neither baseline launches joint operations; both are
scaled down to the budget when they exceed it; floors and caps are not imposed on them.
"""

from __future__ import annotations

import numpy as np

from crossplan.optimize import names
from crossplan.optimize.curve import exact_value
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.score import (
    Allocation,
    commitments,
    cost_by_period,
    effective_effort,
    effort_multipliers,
    score,
    shifts_by_region,
    shifts_by_unit,
)

__all__ = [
    "baselines",
    "binding_constraints",
    "marginal_values",
    "proportional_allocation",
    "uniform_allocation",
]

_TOL = 1e-6


def _gain(inputs: Inputs, effort: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Exact change in expected interdictions when effort moves by ``step`` (regions, periods)."""
    kappa = inputs.forecast.detection_rate
    after = exact_value(inputs.activity, kappa, np.maximum(effort + step, 0.0))
    return np.asarray(after - exact_value(inputs.activity, kappa, effort))


def marginal_values(inputs: Inputs, alloc: Allocation) -> np.ndarray:
    """Gain from one more shift of efficiency 1 in each (region, period)."""
    effort = effective_effort(inputs, alloc)
    return _gain(inputs, effort, effort_multipliers(inputs, alloc.launched))


def binding_constraints(inputs: Inputs, alloc: Allocation) -> list[str]:
    """Names of the constraints that hold the plan back.

    A constraint binds when the plan could not add one more shift without breaking it:
    a unit at capacity, a budget with less left than the cheapest spare shift, a region at
    its floor or share cap, a launched operation held at a country's minimum, a period at
    its operation limit. ``jurisdiction[u,r]`` names the region ``r`` where unit ``u``'s
    shift would be worth most, when that beats what its least useful shift earns now.
    """
    policy = inputs.policy
    periods = inputs.periods
    regions = inputs.regions.region_ids
    units = inputs.units
    found: list[str] = []
    cap = np.array([u.shifts_per_period for u in units], dtype=float)
    used = shifts_by_unit(inputs, alloc)
    full = (used >= cap[:, None] - _TOL) & (cap[:, None] > 0)
    found += [
        names.capacity(units[u].unit_id, periods[t]) for u, t in zip(*np.nonzero(full), strict=True)
    ]
    if policy.budget is not None:
        cost = np.array([u.cost_per_shift for u in units])
        works = np.asarray(inputs.eligibility.matrix.any(axis=1))
        spare = (used < cap[:, None] - _TOL) & works[:, None]
        left = policy.budget - cost_by_period(inputs, alloc)
        for t, period in enumerate(periods):
            # With every unit at capacity, money is not what holds the plan back.
            if spare[:, t].any() and left[t] < cost[spare[:, t]].min() - _TOL:
                found.append(names.budget(period))
    per_region = shifts_by_region(inputs, alloc)
    floor = policy.min_shifts_per_region
    if floor > 0:
        at_floor = (np.abs(per_region - floor) < _TOL) & inputs.floor_regions[:, None]
        found += [
            names.floor(regions[r], periods[t]) for r, t in zip(*np.nonzero(at_floor), strict=True)
        ]
    share = policy.max_share_per_region
    if share is not None:
        total = per_region.sum(axis=0)
        capped = (per_region > 0) & (per_region + 1 > share * (total + 1) + _TOL)
        found += [
            names.share_cap(regions[r], periods[t])
            for r, t in zip(*np.nonzero(capped), strict=True)
        ]
    found += _operation_binding(inputs, alloc)
    found += _jurisdiction_binding(inputs, alloc)
    return found


def _operation_binding(inputs: Inputs, alloc: Allocation) -> list[str]:
    ops = inputs.joint_operations
    if not ops:
        return []
    periods = inputs.periods
    found = []
    committed = commitments(inputs, alloc)
    for (j, country), per in committed.items():
        op = ops[j]
        tight = alloc.launched[j] & (np.abs(per - op.min_shifts_per_country) < _TOL)
        if op.min_shifts_per_country > 0:
            found += [
                names.commitment(op.operation_id, country, periods[t])
                for t in np.flatnonzero(tight)
            ]
    limit = inputs.policy.max_joint_operations_per_period
    if limit is not None:
        launched = alloc.launched.sum(axis=0)
        for t in np.flatnonzero((launched >= limit) & (launched < len(ops))):
            found.append(names.joint_limit(periods[t]))
    return found


def _jurisdiction_binding(inputs: Inputs, alloc: Allocation) -> list[str]:
    effort = effective_effort(inputs, alloc)
    mult = effort_multipliers(inputs, alloc.launched)
    eligible = inputs.eligibility.matrix
    efficiency = np.array([u.efficiency for u in inputs.units])
    n_units, n_periods = len(inputs.units), len(inputs.periods)
    # kept[u, t]: what the unit's least useful shift earns; outside[u, t]: the best gain
    # one of its shifts would make where it may not go.
    kept = np.full((n_units, n_periods), np.inf)
    outside = np.full((n_units, n_periods), -np.inf)
    where = np.zeros((n_units, n_periods), dtype=int)
    for e in np.unique(efficiency):
        group = np.flatnonzero(efficiency == e)
        gain_more = _gain(inputs, effort, e * mult)
        loss_less = -_gain(inputs, effort, -e * mult)
        entries = np.isin(alloc.unit, group) & (alloc.shifts > 0)
        np.minimum.at(
            kept,
            (alloc.unit[entries], alloc.period[entries]),
            loss_less[alloc.region[entries], alloc.period[entries]],
        )
        outside[group], where[group] = _best_outside(eligible[group], gain_more)
    beats = np.isfinite(kept) & (outside > kept * 1.01 + _TOL)
    regions = inputs.regions.region_ids
    found = []
    for u in np.flatnonzero(beats.any(axis=1)):
        t = int(np.argmax(np.where(beats[u], outside[u], -np.inf)))
        found.append(names.jurisdiction(inputs.units[u].unit_id, regions[where[u, t]]))
    return found


def _best_outside(eligible: np.ndarray, gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (rows of ``eligible``) and period: the best ``gain`` (regions, periods) where
    it may not work, and that region. A unit may work in few regions, so its best outside is
    among the best ``k + 1`` regions, ``k`` the most any unit may work in: no dense
    units × regions × periods array is made."""
    n_u, n_t = eligible.shape[0], gain.shape[1]
    best, where = np.full((n_u, n_t), -np.inf), np.zeros((n_u, n_t), dtype=int)
    k = min(int(eligible.sum(axis=1).max(initial=0)) + 1, gain.shape[0])
    for t in range(n_t):
        top = np.argsort(-gain[:, t], kind="stable")[:k]
        free = ~eligible[:, top]
        has = free.any(axis=1)
        first = np.argmax(free, axis=1)
        best[has, t] = gain[top[first[has]], t]
        where[has, t] = top[first[has]]
    return best, where


def uniform_allocation(inputs: Inputs) -> Allocation:
    """Each unit spreads its shifts evenly over every region it may work in."""
    uu, rr = inputs.eligibility.pairs
    n = np.bincount(uu, minlength=len(inputs.units))
    return _spread(inputs, uu, rr, 1.0 / n[uu])


def proportional_allocation(inputs: Inputs) -> Allocation | None:
    """Each unit spreads its shifts in proportion to recent counts (evenly if all zero)."""
    if inputs.recent_counts is None:
        return None
    uu, rr = inputs.eligibility.pairs
    counts = np.array(
        [max(float(inputs.recent_counts.get(r, 0.0)), 0.0) for r in inputs.regions.region_ids]
    )
    w = counts[rr]
    per_unit = np.bincount(uu, weights=w, minlength=len(inputs.units))
    n = np.bincount(uu, minlength=len(inputs.units))
    share = np.where(
        per_unit[uu] > 0, w / np.where(per_unit[uu] > 0, per_unit[uu], 1.0), 1.0 / n[uu]
    )
    return _spread(inputs, uu, rr, share)


def _spread(inputs: Inputs, uu: np.ndarray, rr: np.ndarray, share: np.ndarray) -> Allocation:
    n_t = len(inputs.periods)
    cap = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
    shifts = cap[uu] * share
    alloc = Allocation(
        unit=np.tile(uu, n_t),
        region=np.tile(rr, n_t),
        period=np.repeat(np.arange(n_t), len(uu)),
        shifts=np.tile(shifts, n_t),
        launched=np.zeros((len(inputs.joint_operations), n_t), dtype=bool),
    )
    budget = inputs.policy.budget
    if budget is None:
        return alloc
    cost = cost_by_period(inputs, alloc)
    scale = np.where(cost > budget, budget / np.where(cost > 0, cost, 1.0), 1.0)
    return Allocation(
        unit=alloc.unit,
        region=alloc.region,
        period=alloc.period,
        shifts=alloc.shifts * scale[alloc.period],
        launched=alloc.launched,
    )


def baselines(inputs: Inputs) -> dict[str, float | None]:
    """Exact objective of the uniform and proportional policies on the same forecast."""
    proportional = proportional_allocation(inputs)
    return {
        "uniform": float(score(inputs, uniform_allocation(inputs)).sum()),
        "proportional": (
            None if proportional is None else float(score(inputs, proportional).sum())
        ),
    }
