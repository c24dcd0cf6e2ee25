"""Exact scoring of an allocation: effort, cost, commitments and expected interdictions.

Used for the solver's plan, for the baseline policies and by the tests' brute force, so
every allocation is judged by the same, exact (not piecewise) objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossplan.optimize.curve import exact_value
from crossplan.optimize.inputs import Inputs

__all__ = [
    "Allocation",
    "commitments",
    "cost_by_period",
    "effective_effort",
    "effort_multipliers",
    "score",
    "shifts_by_region",
    "shifts_by_unit",
]


@dataclass(frozen=True, eq=False)
class Allocation:
    """Shifts per (unit, region, period), sparse, and the joint operations launched.

    Parameters
    ----------
    unit, region, period
        Integer index arrays into ``inputs.units``, ``inputs.regions``, periods.
    shifts
        Shifts of each entry (fractional for the baseline policies).
    launched
        Boolean array (joint operations, periods).
    """

    unit: np.ndarray
    region: np.ndarray
    period: np.ndarray
    shifts: np.ndarray
    launched: np.ndarray

    @classmethod
    def from_dense(cls, shifts: np.ndarray, launched: np.ndarray) -> Allocation:
        """From a dense array (units, regions, periods)."""
        u, r, t = np.nonzero(shifts)
        return cls(unit=u, region=r, period=t, shifts=shifts[u, r, t], launched=launched)


def _shape(inputs: Inputs) -> tuple[int, int, int]:
    return len(inputs.units), len(inputs.regions.region_ids), len(inputs.periods)


def shifts_by_region(inputs: Inputs, alloc: Allocation) -> np.ndarray:
    """Shifts per (region, period)."""
    _, n_r, n_t = _shape(inputs)
    out = np.zeros((n_r, n_t))
    np.add.at(out, (alloc.region, alloc.period), alloc.shifts)
    return out


def shifts_by_unit(inputs: Inputs, alloc: Allocation) -> np.ndarray:
    """Shifts per (unit, period)."""
    n_u, _, n_t = _shape(inputs)
    out = np.zeros((n_u, n_t))
    np.add.at(out, (alloc.unit, alloc.period), alloc.shifts)
    return out


def cost_by_period(inputs: Inputs, alloc: Allocation) -> np.ndarray:
    """Cost of the shifts of each period."""
    cost = np.array([u.cost_per_shift for u in inputs.units])
    out = np.zeros(len(inputs.periods))
    np.add.at(out, alloc.period, cost[alloc.unit] * alloc.shifts)
    return out


def effort_multipliers(inputs: Inputs, launched: np.ndarray) -> np.ndarray:
    """Effort multiplier per (region, period) given the launched joint operations."""
    _, n_r, n_t = _shape(inputs)
    out = np.ones((n_r, n_t))
    index = inputs.regions.index
    for j, op in enumerate(inputs.joint_operations):
        rows = np.array([index[r] for r in op.regions], dtype=int)
        out[np.ix_(rows, np.flatnonzero(launched[j]))] += op.effort_multiplier - 1.0
    return out


def effective_effort(inputs: Inputs, alloc: Allocation) -> np.ndarray:
    """Effective effort per (region, period): efficiency-weighted shifts and the fixed effort
    others committed there, times multipliers."""
    efficiency = np.array([u.efficiency for u in inputs.units])
    base = inputs.fixed.effort.copy()
    np.add.at(base, (alloc.region, alloc.period), efficiency[alloc.unit] * alloc.shifts)
    return base * effort_multipliers(inputs, alloc.launched)


def commitments(inputs: Inputs, alloc: Allocation) -> dict[tuple[int, str], np.ndarray]:
    """Shifts each country puts inside each joint operation's regions, per period: its
    units' in the allocation and those it committed (fixed effort).

    Keys are (operation index, country); values are arrays over periods.
    """
    n_t = len(inputs.periods)
    index = inputs.regions.index
    unit_country = np.array([u.country for u in inputs.units], dtype=object)
    out: dict[tuple[int, str], np.ndarray] = {}
    for j, op in enumerate(inputs.joint_operations):
        rows = sorted({index[r] for r in op.regions})
        inside = np.isin(alloc.region, rows)
        for c in op.countries:
            mask = inside & (unit_country[alloc.unit] == c) if len(alloc.unit) else inside
            per = np.array([inputs.fixed.shifts_in(c, rows, t) for t in range(n_t)])
            np.add.at(per, alloc.period[mask], alloc.shifts[mask])
            out[(j, c)] = per
    return out


def score(inputs: Inputs, alloc: Allocation) -> np.ndarray:
    """Exact expected interdictions per (region, period)."""
    return exact_value(
        inputs.activity, inputs.forecast.detection_rate, effective_effort(inputs, alloc)
    )
