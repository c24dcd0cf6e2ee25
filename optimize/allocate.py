"""One call from inputs to plan: quick checks, build, solve, explain."""

from __future__ import annotations

from crossplan.optimize.build import build_problem
from crossplan.optimize.curve import DEFAULT_TOLERANCE
from crossplan.optimize.diagnose import precheck
from crossplan.optimize.errors import SolverError
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.plan import Plan
from crossplan.optimize.solve import infeasible_plan, solve
from crossplan.optimize.solver_runs import SOLVERS

__all__ = ["plan_allocation"]


def plan_allocation(
    inputs: Inputs,
    solver: str = "cbc",
    *,
    time_limit: float | None = None,
    gap: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    deadline: float | None = None,
) -> Plan:
    """Plan patrols and joint operations for ``inputs``.

    Parameters
    ----------
    inputs
        Planning inputs.
    solver
        ``cbc`` (default, PuLP's bundled CBC) or ``highs``.
    time_limit, gap
        Solver limits; default to the policy's.
    tolerance
        Target relative error of the piecewise interdiction curves.
    deadline
        ``time.monotonic()`` by which the plan must be made: the greedy start and the solver
        share what is left once the model is built, less a reserve for the explanations
        (:func:`~optimize.solve.solve`).

    Returns
    -------
    Plan
        Status ``infeasible`` with a diagnosis when no plan meets every constraint (the
        quick checks answer without building the model).

    Raises
    ------
    SolverError
        Unknown solver, solver failure, or no plan found within the time limit.
    """
    if solver not in SOLVERS:
        raise SolverError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    findings = precheck(inputs)
    if findings:
        return infeasible_plan(inputs, solver, findings)
    problem = build_problem(inputs, tolerance=tolerance)
    return solve(problem, solver, time_limit=time_limit, gap=gap, deadline=deadline)
