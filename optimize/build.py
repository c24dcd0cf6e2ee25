"""Build the allocation MILP (docs/design.md, "Reference allocation model") with PuLP.

Variables: shifts ``x[u,r,t]`` (integer, only for eligible pairs), launches ``y[j,t]``
(binary), curve segments ``s[r,t,k]``, boosted shifts ``z[j,u,r,t]`` and, with share caps,
a period's total shifts. Every constraint carries a name from :mod:`optimize.names`;
:attr:`AllocationProblem.constraints` maps those names to PuLP constraints.

A launched operation multiplies a region's effort: ``E = B · (1 + Σ_j (m_j − 1) y_j)`` with
``B`` the efficiency-weighted shifts plus the fixed effort ``F`` others committed there
(a constant: its share of the boost is ``(m_j − 1) F y_j``, linear as it is). The product is linearised per unit, which keeps the
relaxation tight: ``z[j,u,r] ≤ x[u,r]`` are the unit's shifts that operation ``j`` boosts;
``Σ_r z[j,u,r] ≤ cap_u · y_j`` (none unless launched) and
``Σ_r (x[u,r] − z[j,u,r]) ≤ cap_u · (1 − y_j)`` (all of them once launched), sums over the
operation's regions. A big-M bound on a region's effort instead leaves the relaxation free to
launch every operation "half-way" and reap nearly all of their boost.

Only commanded units get shift variables (the eligibility of the inputs says so), and an
operation gets a launch variable only in the periods its parties can staff
(:mod:`optimize.staffing`): one that cannot be staffed is not launched, never infeasible.
A party's commitment counts the shifts it has committed as fixed effort. An operation its
parties confirmed is launched in its periods (its launch variable fixed to 1, its needs met
by the pledges, so no commitment row), and each of this plan's units that pledged to it works
its pledged shifts inside its regions (``reserved``, capped at the unit's capacity and taken
only where the unit may work).

Periods share no constraint (capacity, budget, floors, caps and the operation limit are all
per period), so the model is block-diagonal and is built as one PuLP model per period: a
solver proves a small block far faster than the whole. Each *minimises minus* the piecewise
interdictions: CBC 2.10 (PuLP's bundled binary) reads a warm start with the wrong sign when
asked to maximise, and then ignores it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pulp

from crossplan.optimize import names
from crossplan.optimize.curve import DEFAULT_TOLERANCE, Curves, build_curves
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.score import Allocation, effective_effort

__all__ = ["AllocationProblem", "build_problem", "inputs_curves", "max_boost"]

_Terms = list[tuple[pulp.LpVariable, float]]


@dataclass(eq=False)
class AllocationProblem:
    """A built model and the maps from our indices and names to its parts.

    Parameters
    ----------
    inputs
        The inputs it was built from.
    models
        One PuLP model per period: each minimises minus the period's piecewise
        interdictions, or its total slack when ``elastic``.
    shifts
        ``(unit, region, period)`` index → shift variable.
    launches
        ``(operation, period)`` index → launch variable.
    constraints
        Constraint name → PuLP constraint.
    slacks
        Elastic models only: constraint name → its slack variable.
    segments, boosted, totals
        Curve segments per (region, period), boosted shifts per (operation, unit, region,
        period), total shifts per period: the continuous variables, kept for warm starts.
    curves
        Piecewise curves (``None`` for elastic models, which have no interdiction objective).
    build_seconds
        Time spent building.
    """

    inputs: Inputs
    models: tuple[pulp.LpProblem, ...]
    shifts: dict[tuple[int, int, int], pulp.LpVariable]
    launches: dict[tuple[int, int], pulp.LpVariable]
    constraints: dict[str, pulp.LpConstraint]
    slacks: dict[str, pulp.LpVariable] = field(default_factory=dict)
    segments: dict[tuple[int, int], list[pulp.LpVariable]] = field(default_factory=dict)
    boosted: dict[tuple[int, int, int, int], pulp.LpVariable] = field(default_factory=dict)
    totals: dict[int, pulp.LpVariable] = field(default_factory=dict)
    curves: Curves | None = None
    build_seconds: float = 0.0

    def set_start(self, alloc: Allocation, period: int | None = None) -> None:
        """Give the variables their values under ``alloc`` (a warm start).

        Only those of ``period`` when given, so solved periods keep their solution.
        """
        inputs = self.inputs
        shape = (len(inputs.units), len(inputs.regions.region_ids), len(inputs.periods))
        dense = np.zeros(shape)
        dense[alloc.unit, alloc.region, alloc.period] = alloc.shifts
        effort = effective_effort(inputs, alloc)

        def mine(t: int) -> bool:
            return period is None or t == period

        for (u, r, t), var in self.shifts.items():
            if mine(t):
                var.varValue = float(dense[u, r, t])
        for (j, t), var in self.launches.items():
            if mine(t):
                var.varValue = float(alloc.launched[j, t])
        for (j, u, r, t), var in self.boosted.items():
            if mine(t):
                var.varValue = float(dense[u, r, t]) if alloc.launched[j, t] else 0.0
        for t, var in self.totals.items():
            if mine(t):
                var.varValue = float(dense[:, :, t].sum())
        for (r, t), segments in self.segments.items():
            if mine(t):
                remaining = float(effort[r, t])
                for var in segments:
                    var.varValue = min(remaining, float(var.upBound))
                    remaining -= var.varValue

    @property
    def elastic(self) -> bool:
        """Whether this is the elastic (feasibility) version of the model."""
        return self.curves is None

    @property
    def approximation_error(self) -> float:
        """Largest relative error of the piecewise curves (0 for elastic models)."""
        return 0.0 if self.curves is None else self.curves.max_error


def build_problem(
    inputs: Inputs,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    elastic: bool = False,
    curves: Curves | None = None,
) -> AllocationProblem:
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
    curves
        The piecewise curves to use (a block's share of the whole instance's, so that both
        value effort alike); ``None``: those of ``inputs`` (:func:`inputs_curves`).
    """
    start = time.perf_counter()
    builder = _Builder(inputs, elastic)
    builder.add_shifts()
    builder.add_capacity()
    builder.add_budget()
    builder.add_floors()
    builder.add_share_caps()
    used = None
    if not elastic:
        builder.add_joint_operations()
        used = builder.add_curves(curves or inputs_curves(inputs, tolerance))
    builder.set_objective()
    return AllocationProblem(
        inputs=inputs,
        models=tuple(builder.models),
        shifts=builder.x,
        launches=builder.y,
        constraints=builder.constraints,
        slacks=builder.slacks,
        segments=builder.segments,
        boosted=builder.boosted,
        totals=builder.totals,
        curves=used,
        build_seconds=time.perf_counter() - start,
    )


class _Builder:
    def __init__(self, inputs: Inputs, elastic: bool) -> None:
        self.inputs = inputs
        self.elastic = elastic
        self.periods = inputs.periods
        name = "crossplan_elastic" if elastic else "crossplan"
        self.models = [
            pulp.LpProblem(f"{name}_{t}", pulp.LpMinimize) for t in range(len(self.periods))
        ]
        self.region_ids = inputs.regions.region_ids
        self.cap = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
        self.eff = np.array([u.efficiency for u in inputs.units], dtype=float)
        self.cost = np.array([u.cost_per_shift for u in inputs.units], dtype=float)
        self.x: dict[tuple[int, int, int], pulp.LpVariable] = {}
        self.y: dict[tuple[int, int], pulp.LpVariable] = {}
        self.constraints: dict[str, pulp.LpConstraint] = {}
        self.slacks: dict[str, pulp.LpVariable] = {}
        self.segments: dict[tuple[int, int], list[pulp.LpVariable]] = {}
        self.boosted: dict[tuple[int, int, int, int], pulp.LpVariable] = {}
        self.totals: dict[int, pulp.LpVariable] = {}
        self.objective: dict[int, _Terms] = defaultdict(list)
        # shifts of a unit / in a region, per period: lists of (index, variable)
        self.by_unit: dict[tuple[int, int], list[tuple[int, pulp.LpVariable]]] = defaultdict(list)
        self.by_region: dict[tuple[int, int], list[tuple[int, pulp.LpVariable]]] = defaultdict(list)
        self.bonus: dict[tuple[int, int], _Terms] = defaultdict(list)

    def _add(
        self, t: int, name: str, terms: _Terms, sense: int, rhs: float, slack: float = 0.0
    ) -> None:
        """Add a named constraint to period ``t``; ``slack``: elastic slack's sign (0: none)."""
        if self.elastic and slack:
            var = self.models[t].add_variable(f"e_{len(self.slacks)}", lowBound=0)
            self.slacks[name] = var
            terms = [*terms, (var, slack)]
            self.objective[t].append((var, 1.0))
        constraint = pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, rhs=rhs)
        self.models[t].addConstraint(constraint, f"c_{len(self.constraints)}")
        self.constraints[name] = constraint

    def add_shifts(self) -> None:
        uu, rr = self.inputs.eligibility.pairs
        keep = self.cap[uu] > 0
        pairs = list(zip(uu[keep].tolist(), rr[keep].tolist(), strict=True))
        for t in range(len(self.periods)):
            for u, r in pairs:
                var = self.models[t].add_variable(
                    f"x_{u}_{r}_{t}", lowBound=0, upBound=self.cap[u], cat=pulp.LpInteger
                )
                self.x[(u, r, t)] = var
                self.by_unit[(u, t)].append((r, var))
                self.by_region[(r, t)].append((u, var))

    def add_capacity(self) -> None:
        for (u, t), entries in self.by_unit.items():
            name = names.capacity(self.inputs.units[u].unit_id, self.periods[t])
            self._add(t, name, [(v, 1.0) for _, v in entries], pulp.LpConstraintLE, self.cap[u])

    def add_budget(self) -> None:
        budget = self.inputs.policy.budget
        if budget is None:
            return
        terms: dict[int, _Terms] = defaultdict(list)
        for (u, _, t), var in self.x.items():
            terms[t].append((var, float(self.cost[u])))
        for t, period in enumerate(self.periods):
            name = names.budget(period)
            self._add(t, name, terms[t], pulp.LpConstraintLE, budget, slack=-1.0)

    def add_floors(self) -> None:
        floor = self.inputs.policy.min_shifts_per_region
        if floor <= 0:
            return
        applies = self.inputs.floor_regions
        for t, period in enumerate(self.periods):
            for r, region_id in enumerate(self.region_ids):
                if not applies[r]:
                    continue
                terms = [(v, 1.0) for _, v in self.by_region.get((r, t), [])]
                name = names.floor(region_id, period)
                self._add(t, name, terms, pulp.LpConstraintGE, floor, slack=1.0)

    def add_share_caps(self) -> None:
        share = self.inputs.policy.max_share_per_region
        if share is None:
            return
        for t, period in enumerate(self.periods):
            total = self.models[t].add_variable(f"total_{t}", lowBound=0)
            self.totals[t] = total
            terms = [(var, -1.0) for (_, _, tt), var in self.x.items() if tt == t]
            row = [(total, 1.0), *terms]
            self._add(t, names.total_shifts(period), row, pulp.LpConstraintEQ, 0)
            for r, region_id in enumerate(self.region_ids):
                entries = self.by_region.get((r, t))
                if entries:
                    row = [(v, 1.0) for _, v in entries] + [(total, -share)]
                    name = names.share_cap(region_id, period)
                    self._add(t, name, row, pulp.LpConstraintLE, 0.0, slack=-1.0)

    def add_joint_operations(self) -> None:
        ops = self.inputs.joint_operations
        index = self.inputs.regions.index
        country = [u.country for u in self.inputs.units]
        limit = self.inputs.policy.max_joint_operations_per_period
        fixed = self.inputs.fixed
        forced = self.inputs.forced
        for t, period in enumerate(self.periods):
            for j in self.inputs.staffing.candidates(t):
                op = ops[j]
                y = self.models[t].add_variable(
                    f"y_{j}_{t}", lowBound=int(forced[j, t]), cat=pulp.LpBinary
                )
                self.y[(j, t)] = y
                rows = list(dict.fromkeys(index[r] for r in op.regions))
                # shifts inside the operation's regions, per unit: [(region, x)]
                inside: dict[int, list[tuple[int, pulp.LpVariable]]] = defaultdict(list)
                for r in rows:
                    for u, v in self.by_region.get((r, t), []):
                        inside[u].append((r, v))
                boosted = {}
                if op.effort_multiplier > 1:
                    boosted = {
                        u: self._add_boost(j, u, t, y, entries) for u, entries in inside.items()
                    }
                    for r in rows:
                        if fixed.effort[r, t] > 0:
                            extra = (op.effort_multiplier - 1.0) * float(fixed.effort[r, t])
                            self.bonus[(r, t)].append((y, -extra))
                if forced[j, t]:
                    self._add_reserved(j, t, inside)
                elif op.min_shifts_per_country > 0:
                    for c in op.countries:
                        # Counting boosted shifts (equal to all of them once launched) is
                        # the same at integer points and tighter in the relaxation.
                        terms = [
                            (var, 1.0)
                            for u, entries in inside.items()
                            if country[u] == c
                            for var in (boosted[u] if u in boosted else [v for _, v in entries])
                        ]
                        name = names.commitment(op.operation_id, c, period)
                        row = [*terms, (y, -float(op.min_shifts_per_country))]
                        pledged = fixed.shifts_in(c, rows, t)
                        self._add(t, name, row, pulp.LpConstraintGE, -pledged)
            launches = [(y, 1.0) for (_, tt), y in self.y.items() if tt == t]
            if limit is not None and launches:
                # Confirmed operations are launched whatever the cap: they were agreed.
                cap = max(limit, int(forced[:, t].sum()))
                self._add(t, names.joint_limit(period), launches, pulp.LpConstraintLE, cap)

    def _add_reserved(
        self, j: int, t: int, inside: dict[int, list[tuple[int, pulp.LpVariable]]]
    ) -> None:
        """The shifts this plan's units pledged to confirmed operation ``j``, kept inside
        its regions in period ``t``."""
        op_id, period = self.inputs.joint_operations[j].operation_id, self.periods[t]
        for u, shifts in self.inputs.reservations[(j, t)].items():
            need = min(float(shifts), float(self.cap[u]))
            if need <= 0 or u not in inside:
                continue  # a pledge it cannot keep is a warning of the plan
            name = names.reserved(op_id, self.inputs.units[u].unit_id, period)
            terms = [(v, 1.0) for _, v in inside[u]]
            self._add(t, name, terms, pulp.LpConstraintGE, need, slack=1.0)
        weighed = self.inputs.weighed.get((j, t), 0)
        if weighed:
            reserved = self.inputs.reservations[(j, t)]
            terms = [(v, 1.0) for u, entries in inside.items() for _, v in entries]
            base = sum(min(float(n), float(self.cap[u])) for u, n in reserved.items())
            name = names.commitment(op_id, self.inputs.command.planner, period)
            self._add(t, name, terms, pulp.LpConstraintGE, base + weighed, slack=1.0)

    def _add_boost(
        self,
        j: int,
        u: int,
        t: int,
        y: pulp.LpVariable,
        entries: list[tuple[int, pulp.LpVariable]],
    ) -> list[pulp.LpVariable]:
        """Boosted shifts of unit ``u`` in operation ``j``'s regions, and their rows."""
        op, unit, period = self.inputs.joint_operations[j], self.inputs.units[u], self.periods[t]
        cap = float(self.cap[u])
        extra = (op.effort_multiplier - 1.0) * float(self.eff[u])
        out = []
        for r, x in entries:
            z = self.models[t].add_variable(f"z_{j}_{u}_{r}_{t}", lowBound=0, upBound=cap)
            self.boosted[(j, u, r, t)] = z
            name = names.joint_part(op.operation_id, unit.unit_id, self.region_ids[r], period)
            self._add(t, name, [(z, 1.0), (x, -1.0)], pulp.LpConstraintLE, 0.0)
            self.bonus[(r, t)].append((z, -extra))
            out.append(z)
        name = names.joint_boost(op.operation_id, unit.unit_id, period)
        self._add(t, name, [*((z, 1.0) for z in out), (y, -cap)], pulp.LpConstraintLE, 0.0)
        name = names.joint_all(op.operation_id, unit.unit_id, period)
        row = [*((x, 1.0) for _, x in entries), *((z, -1.0) for z in out), (y, cap)]
        self._add(t, name, row, pulp.LpConstraintLE, cap)
        return out

    def add_curves(self, curves: Curves) -> Curves:
        fixed = self.inputs.fixed.effort
        for r, region_id in enumerate(self.region_ids):
            for t, period in enumerate(self.periods):
                widths, slopes = curves.segments(r, t)
                if not len(widths):
                    continue
                segments = [
                    self.models[t].add_variable(f"s_{r}_{t}_{k}", lowBound=0, upBound=float(w))
                    for k, w in enumerate(widths)
                ]
                self.segments[(r, t)] = segments
                self.objective[t].extend(zip(segments, (-slopes).tolist(), strict=True))
                effort = [(v, -float(self.eff[u])) for u, v in self.by_region.get((r, t), [])]
                row = [(s, 1.0) for s in segments] + effort + self.bonus.get((r, t), [])
                name = names.effort(region_id, period)
                self._add(t, name, row, pulp.LpConstraintLE, float(fixed[r, t]))
        return curves

    def set_objective(self) -> None:
        for t, model in enumerate(self.models):
            model.setObjective(pulp.LpAffineExpression(self.objective[t]))


def inputs_curves(inputs: Inputs, tolerance: float = DEFAULT_TOLERANCE) -> Curves:
    """The piecewise curves of every region and period of ``inputs``, up to the most effort
    each can receive (every unit that may work there at full capacity and the fixed effort,
    boosted by every joint operation that holds it)."""
    eff = np.array([u.efficiency for u in inputs.units], dtype=float)
    cap = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
    uu, rr = inputs.eligibility.pairs  # sparse: the dense product would copy the matrix
    base = np.bincount(rr, weights=(eff * cap)[uu], minlength=len(inputs.regions.region_ids))
    top = (base[:, None] + inputs.fixed.effort) * max_boost(inputs)[:, None]
    return build_curves(inputs.activity, inputs.forecast.detection_rate, top, tolerance)


def max_boost(inputs: Inputs) -> np.ndarray:
    """Effort multiplier of each region were every joint operation launched."""
    boost = np.ones(len(inputs.regions.region_ids))
    for op in inputs.joint_operations:
        rows = list(dict.fromkeys(inputs.regions.index[r] for r in op.regions))
        boost[rows] += op.effort_multiplier - 1.0
    return boost
