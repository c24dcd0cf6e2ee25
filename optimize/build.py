"""Build the allocation MILP (DESIGN.md, "Reference allocation model") with PuLP.

Variables: shifts ``x[u,r,t]`` (integer, only for eligible pairs), launches ``y[j,t]``
(binary), curve segments ``s[r,t,k]``, an operation's extra effort ``w[j,r,t]`` and, with
share caps, a period's total shifts. Every constraint carries a name from
:mod:`optimize.names`; :attr:`Problem.constraints` maps those names to PuLP constraints.

A launched operation multiplies a region's effort: ``E = B · (1 + Σ_j (m_j − 1) y_j)`` with
``B`` the efficiency-weighted shifts. The product ``B · y_j`` is linearised by ``w_j ≤ B``
and ``w_j ≤ B_max · y_j``; the objective pushes ``w_j`` up to the product.

The model *minimises minus* the piecewise interdictions: CBC 2.10 (PuLP's bundled binary)
reads a warm start with the wrong sign when asked to maximise, and then ignores it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pulp

from optimize import names
from optimize.curve import DEFAULT_TOLERANCE, Curves, build_curves
from optimize.inputs import Inputs

__all__ = ["Problem", "build_problem"]

_Terms = list[tuple[pulp.LpVariable, float]]


@dataclass(eq=False)
class Problem:
    """A built model and the maps from our indices and names to its parts.

    Parameters
    ----------
    inputs
        The inputs it was built from.
    model
        The PuLP model: minimises minus the piecewise interdictions, or the total slack
        when ``elastic``.
    shifts
        ``(unit, region, period)`` index → shift variable.
    launches
        ``(operation, period)`` index → launch variable.
    constraints
        Constraint name → PuLP constraint.
    slacks
        Elastic models only: constraint name → its slack variable.
    segments, bonuses, totals
        Curve segments per (region, period), extra effort per (operation, region, period),
        total shifts per period: the continuous variables, kept for warm starts.
    curves
        Piecewise curves (``None`` for elastic models, which have no interdiction objective).
    build_seconds
        Time spent building.
    """

    inputs: Inputs
    model: pulp.LpProblem
    shifts: dict[tuple[int, int, int], pulp.LpVariable]
    launches: dict[tuple[int, int], pulp.LpVariable]
    constraints: dict[str, pulp.LpConstraint]
    slacks: dict[str, pulp.LpVariable] = field(default_factory=dict)
    segments: dict[tuple[int, int], list[pulp.LpVariable]] = field(default_factory=dict)
    bonuses: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    totals: dict[int, pulp.LpVariable] = field(default_factory=dict)
    curves: Curves | None = None
    build_seconds: float = 0.0

    @property
    def elastic(self) -> bool:
        """Whether this is the elastic (feasibility) version of the model."""
        return self.curves is None

    @property
    def approximation_error(self) -> float:
        """Largest relative error of the piecewise curves (0 for elastic models)."""
        return 0.0 if self.curves is None else self.curves.max_error


def build_problem(
    inputs: Inputs, *, tolerance: float = DEFAULT_TOLERANCE, elastic: bool = False
) -> Problem:
    """Build the allocation model.

    Parameters
    ----------
    inputs
        Planning inputs.
    tolerance
        Target relative error of the piecewise interdiction curves.
    elastic
        Build the feasibility version instead: floors, budget and share caps get a slack
        variable, the objective minimises total slack, joint operations are left out
        (they are optional, so they never make a model infeasible).
    """
    start = time.perf_counter()
    builder = _Builder(inputs, elastic)
    builder.add_shifts()
    builder.add_capacity()
    builder.add_budget()
    builder.add_floors()
    builder.add_share_caps()
    curves = None
    if not elastic:
        builder.add_joint_operations()
        curves = builder.add_curves(tolerance)
    builder.set_objective()
    return Problem(
        inputs=inputs,
        model=builder.model,
        shifts=builder.x,
        launches=builder.y,
        constraints=builder.constraints,
        slacks=builder.slacks,
        segments=builder.segments,
        bonuses=builder.bonuses,
        totals=builder.totals,
        curves=curves,
        build_seconds=time.perf_counter() - start,
    )


class _Builder:
    def __init__(self, inputs: Inputs, elastic: bool) -> None:
        self.inputs = inputs
        self.elastic = elastic
        name = "crossplan_elastic" if elastic else "crossplan"
        self.model = pulp.LpProblem(name, pulp.LpMinimize)
        self.periods = inputs.periods
        self.region_ids = inputs.regions.region_ids
        self.cap = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
        self.eff = np.array([u.efficiency for u in inputs.units], dtype=float)
        self.cost = np.array([u.cost_per_shift for u in inputs.units], dtype=float)
        self.x: dict[tuple[int, int, int], pulp.LpVariable] = {}
        self.y: dict[tuple[int, int], pulp.LpVariable] = {}
        self.constraints: dict[str, pulp.LpConstraint] = {}
        self.slacks: dict[str, pulp.LpVariable] = {}
        self.segments: dict[tuple[int, int], list[pulp.LpVariable]] = {}
        self.bonuses: dict[tuple[int, int, int], pulp.LpVariable] = {}
        self.totals: dict[int, pulp.LpVariable] = {}
        self.objective: _Terms = []
        # shifts of a unit / in a region, per period: lists of (index, variable)
        self.by_unit: dict[tuple[int, int], list[tuple[int, pulp.LpVariable]]] = defaultdict(list)
        self.by_region: dict[tuple[int, int], list[tuple[int, pulp.LpVariable]]] = defaultdict(list)
        self.bonus: dict[tuple[int, int], _Terms] = defaultdict(list)

    def _add(self, name: str, terms: _Terms, sense: int, rhs: float, slack: float = 0.0) -> None:
        """Add a named constraint; ``slack`` is the elastic slack's sign (0: none)."""
        if self.elastic and slack:
            var = self.model.add_variable(f"e_{len(self.slacks)}", lowBound=0)
            self.slacks[name] = var
            terms = [*terms, (var, slack)]
            self.objective.append((var, 1.0))
        constraint = pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, rhs=rhs)
        self.model.addConstraint(constraint, f"c_{len(self.constraints)}")
        self.constraints[name] = constraint

    def add_shifts(self) -> None:
        uu, rr = self.inputs.eligibility.pairs
        keep = self.cap[uu] > 0
        pairs = list(zip(uu[keep].tolist(), rr[keep].tolist(), strict=True))
        for t in range(len(self.periods)):
            for u, r in pairs:
                var = self.model.add_variable(
                    f"x_{u}_{r}_{t}", lowBound=0, upBound=self.cap[u], cat=pulp.LpInteger
                )
                self.x[(u, r, t)] = var
                self.by_unit[(u, t)].append((r, var))
                self.by_region[(r, t)].append((u, var))

    def add_capacity(self) -> None:
        for (u, t), entries in self.by_unit.items():
            name = names.capacity(self.inputs.units[u].unit_id, self.periods[t])
            self._add(name, [(v, 1.0) for _, v in entries], pulp.LpConstraintLE, self.cap[u])

    def add_budget(self) -> None:
        budget = self.inputs.policy.budget
        if budget is None:
            return
        terms: dict[int, _Terms] = defaultdict(list)
        for (u, _, t), var in self.x.items():
            terms[t].append((var, float(self.cost[u])))
        for t, period in enumerate(self.periods):
            self._add(names.budget(period), terms[t], pulp.LpConstraintLE, budget, slack=-1.0)

    def add_floors(self) -> None:
        floor = self.inputs.policy.min_shifts_per_region
        if floor <= 0:
            return
        for t, period in enumerate(self.periods):
            for r, region_id in enumerate(self.region_ids):
                terms = [(v, 1.0) for _, v in self.by_region.get((r, t), [])]
                self._add(
                    names.floor(region_id, period), terms, pulp.LpConstraintGE, floor, slack=1.0
                )

    def add_share_caps(self) -> None:
        share = self.inputs.policy.max_share_per_region
        if share is None:
            return
        for t, period in enumerate(self.periods):
            total = self.model.add_variable(f"total_{t}", lowBound=0)
            self.totals[t] = total
            terms = [(var, -1.0) for (_, _, tt), var in self.x.items() if tt == t]
            self._add(names.total_shifts(period), [(total, 1.0), *terms], pulp.LpConstraintEQ, 0)
            for r, region_id in enumerate(self.region_ids):
                entries = self.by_region.get((r, t))
                if entries:
                    row = [(v, 1.0) for _, v in entries] + [(total, -share)]
                    name = names.share_cap(region_id, period)
                    self._add(name, row, pulp.LpConstraintLE, 0.0, slack=-1.0)

    def base_max(self) -> np.ndarray:
        """Most efficiency-weighted shifts each region can receive in a period."""
        matrix = self.inputs.eligibility.matrix
        return np.asarray((self.eff * self.cap) @ matrix)

    def add_joint_operations(self) -> None:
        ops = self.inputs.joint_operations
        index = self.inputs.regions.index
        country = [u.country for u in self.inputs.units]
        base_max = self.base_max()
        limit = self.inputs.policy.max_joint_operations_per_period
        for t, period in enumerate(self.periods):
            for j, op in enumerate(ops):
                y = self.model.add_variable(f"y_{j}_{t}", cat=pulp.LpBinary)
                self.y[(j, t)] = y
                rows = list(dict.fromkeys(index[r] for r in op.regions))
                if op.min_shifts_per_country > 0:
                    for c in op.countries:
                        terms = [
                            (v, 1.0)
                            for r in rows
                            for u, v in self.by_region.get((r, t), [])
                            if country[u] == c
                        ]
                        name = names.commitment(op.operation_id, c, period)
                        row = [*terms, (y, -float(op.min_shifts_per_country))]
                        self._add(name, row, pulp.LpConstraintGE, 0.0)
                if op.effort_multiplier > 1:
                    for r in rows:
                        self._add_bonus(j, r, t, y, float(base_max[r]))
            if limit is not None and ops:
                terms = [(self.y[(j, t)], 1.0) for j in range(len(ops))]
                self._add(names.joint_limit(period), terms, pulp.LpConstraintLE, limit)

    def _add_bonus(self, j: int, r: int, t: int, y: pulp.LpVariable, base_max: float) -> None:
        entries = self.by_region.get((r, t))
        if not entries or base_max <= 0:
            return
        op = self.inputs.joint_operations[j]
        region_id, period = self.region_ids[r], self.periods[t]
        w = self.model.add_variable(f"w_{j}_{r}_{t}", lowBound=0)
        self.bonuses[(j, r, t)] = w
        base = [(v, -float(self.eff[u])) for u, v in entries]
        name = names.joint_bonus(op.operation_id, region_id, period)
        self._add(name, [(w, 1.0), *base], pulp.LpConstraintLE, 0.0)
        name = names.joint_launch(op.operation_id, region_id, period)
        self._add(name, [(w, 1.0), (y, -base_max)], pulp.LpConstraintLE, 0.0)
        self.bonus[(r, t)].append((w, -(op.effort_multiplier - 1.0)))

    def add_curves(self, tolerance: float) -> Curves:
        inputs = self.inputs
        boost = np.ones(len(self.region_ids))
        for op in inputs.joint_operations:
            rows = list(dict.fromkeys(inputs.regions.index[r] for r in op.regions))
            boost[rows] += op.effort_multiplier - 1.0
        top = np.repeat((self.base_max() * boost)[:, None], len(self.periods), axis=1)
        curves = build_curves(inputs.activity, inputs.forecast.detection_rate, top, tolerance)
        for r, region_id in enumerate(self.region_ids):
            for t, period in enumerate(self.periods):
                widths, slopes = curves.segments(r, t)
                if not len(widths):
                    continue
                segments = [
                    self.model.add_variable(f"s_{r}_{t}_{k}", lowBound=0, upBound=float(w))
                    for k, w in enumerate(widths)
                ]
                self.segments[(r, t)] = segments
                self.objective.extend(zip(segments, (-slopes).tolist(), strict=True))
                effort = [(v, -float(self.eff[u])) for u, v in self.by_region.get((r, t), [])]
                row = [(s, 1.0) for s in segments] + effort + self.bonus.get((r, t), [])
                self._add(names.effort(region_id, period), row, pulp.LpConstraintLE, 0.0)
        return curves

    def set_objective(self) -> None:
        self.model.setObjective(pulp.LpAffineExpression(self.objective))
