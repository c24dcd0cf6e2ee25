"""Why no plan exists: quick checks before solving, and an elastic re-solve after.

The quick checks catch the common mistakes in milliseconds (a floor in a region no unit
may enter, floors that need more shifts or money than there are). When the solver still
proves the model infeasible, the elastic re-solve lets floors, budget and share caps give
way, at a cost per unit of violation, and names the ones that had to. Joint operations
never make a plan infeasible: one that cannot be staffed is not launched, and the plan says
why (:mod:`optimize.staffing`).
"""

from __future__ import annotations

import numpy as np

from crossplan.optimize import names
from crossplan.optimize.build import build_problem
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.plan import Finding
from crossplan.optimize.solver_runs import run_blocks

__all__ = ["ELASTIC", "PRE_SOLVE", "elastic_diagnosis", "precheck"]

PRE_SOLVE = "pre-solve check"
ELASTIC = "elastic re-solve"
_TOL = 1e-6


def precheck(inputs: Inputs) -> list[Finding]:
    """Constraints that cannot be met, found without a solver."""
    return [*_floor_checks(inputs), *_budget_checks(inputs)]


def _floor_checks(inputs: Inputs) -> list[Finding]:
    floor = inputs.policy.min_shifts_per_region
    if floor <= 0:
        return []
    cap = np.array([u.shifts_per_period for u in inputs.units], dtype=float)
    reach = cap @ inputs.eligibility.matrix
    regions = inputs.regions.region_ids
    applies = inputs.floor_regions
    found = []
    for period in inputs.periods:
        for r in np.flatnonzero((reach < floor) & applies):
            why = (
                f"no unit may work in region {regions[r]} (country, agreements, distance), "
                f"so its floor of {floor} shifts cannot be met"
                if reach[r] == 0
                else f"units that may work in region {regions[r]} have {reach[r]:g} shifts, "
                f"{floor - reach[r]:g} short of its floor of {floor}"
            )
            found.append(
                Finding(names.floor(regions[r], period), floor - reach[r], "shifts", why, PRE_SOLVE)
            )
        total_need = floor * int(applies.sum())
        usable = cap[inputs.eligibility.matrix.any(axis=1)].sum()
        if total_need > usable:
            found.append(
                Finding(
                    names.floor("*", period),
                    total_need - usable,
                    "shifts",
                    f"the floors of {int(applies.sum())} regions need {total_need:g} shifts, all "
                    f"units together have {usable:g}: {total_need - usable:g} short",
                    PRE_SOLVE,
                )
            )
        share = inputs.policy.max_share_per_region
        reached = int(inputs.eligibility.matrix.any(axis=0).sum())
        if share is not None and share * reached < 1:
            found.append(
                Finding(
                    names.share_cap("*", period),
                    floor,
                    "shifts",
                    f"a share cap of {share:g} over the {reached} regions units may work in "
                    f"leaves no room for the {floor} shifts every region's floor asks for",
                    PRE_SOLVE,
                )
            )
    return found


def _budget_checks(inputs: Inputs) -> list[Finding]:
    budget, floor = inputs.policy.budget, inputs.policy.min_shifts_per_region
    if budget is None or floor <= 0:
        return []
    cost = np.array([u.cost_per_shift for u in inputs.units])
    usable = (
        inputs.eligibility.matrix
        & (np.array([u.shifts_per_period for u in inputs.units]) > 0)[:, None]
    )
    cheapest = np.where(usable, cost[:, None], np.inf).min(axis=0)[inputs.floor_regions]
    need = float(floor * cheapest[np.isfinite(cheapest)].sum())
    if need <= budget + _TOL:
        return []
    return [
        Finding(
            names.budget(period),
            need - budget,
            "cost",
            f"meeting the floors costs at least {need:g} per period, {need - budget:g} over "
            f"the budget of {budget:g}",
            PRE_SOLVE,
        )
        for period in inputs.periods
    ]


def elastic_diagnosis(
    inputs: Inputs, solver: str = "cbc", *, time_limit: float | None = None
) -> list[Finding]:
    """Re-solve with slack on floors, budget and share caps; name those that gave way."""
    problem = build_problem(inputs, elastic=True)
    outcomes = run_blocks(problem.models, solver, time_limit=time_limit)
    stuck = [o.detail for o in outcomes if not o.has_solution]
    if stuck:
        return [
            Finding(
                "model",
                0.0,
                "shifts",
                f"the solver proved the plan infeasible; the elastic re-solve found no "
                f"explanation ({stuck[0]})",
                ELASTIC,
            )
        ]
    found = []
    for name, var in problem.slacks.items():
        amount = float(var.varValue or 0.0)
        if amount > _TOL:
            found.append(_elastic_finding(name, amount))
    if not found:
        found.append(
            Finding(
                "model",
                0.0,
                "shifts",
                "the solver reported the plan infeasible, but a re-solve with slack met every "
                "constraint; try the other solver",
                ELASTIC,
            )
        )
    return found


def _elastic_finding(name: str, amount: float) -> Finding:
    kind = names.family(name)
    if kind == "budget":
        message = f"the other constraints need {amount:.4g} more than the budget"
        return Finding(name, amount, "cost", message, ELASTIC)
    if kind == "floor":
        message = f"{_shifts(amount)} short of its floor"
        return Finding(name, amount, "shifts", message, ELASTIC)
    if kind == "reserved":
        message = f"{_shifts(amount)} short of what the unit pledged to the operation"
        return Finding(name, amount, "shifts", message, ELASTIC)
    message = f"{_shifts(amount)} over its share cap"
    return Finding(name, amount, "shifts", message, ELASTIC)


def _shifts(amount: float) -> str:
    return f"{amount:.4g} shift{'' if amount == 1 else 's'}"
