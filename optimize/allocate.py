"""One call from inputs to plan: quick checks, build, solve, explain.

An instance whose countries do not all plan together (:mod:`optimize.blocks`) is solved
block by block (:mod:`optimize.decompose`); one block is built and solved whole.
"""

from __future__ import annotations

import time

from crossplan.optimize.blocks import SPLIT_ABOVE, Block, find_blocks
from crossplan.optimize.build import build_problem
from crossplan.optimize.curve import DEFAULT_TOLERANCE
from crossplan.optimize.decompose import BUILD_RATE, solve_blocks
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
    split_above: int = SPLIT_ABOVE,
    workers: int | None = None,
) -> Plan:
    """Plan patrols and joint operations for ``inputs``.

    Parameters
    ----------
    inputs
        Planning inputs.
    solver
        ``cbc`` (default, PuLP's bundled CBC) or ``highs``.
    time_limit
        Seconds the whole call may take, building the models included (default: the
        policy's; ``None``: no limit): the best plan found by then is returned, with status
        ``time_limit`` when the solver was stopped.
    gap
        Relative gap each solve stops at (default: the policy's).
    tolerance
        Target relative error of the piecewise interdiction curves.
    deadline
        ``time.monotonic()`` by which the plan must be made, whichever comes first with
        ``time_limit``.
    split_above
        Eligible unit-region pairs above which a component that spans several countries is
        split by country (:func:`~optimize.blocks.find_blocks`).
    workers
        Blocks solved at once (default: :func:`~optimize.decompose.block_workers`, one
        per core, less one for the relaxed bound under a deadline); 1 solves them one after
        another in this thread, with the same plan.

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
    began = time.monotonic()
    time_limit = inputs.policy.time_limit_s if time_limit is None else time_limit
    if time_limit is not None:
        deadline = min(began + time_limit, deadline or float("inf"))
    findings = precheck(inputs)
    if findings:
        return infeasible_plan(inputs, solver, findings)
    blocks = find_blocks(inputs, split_above)
    # One block is built whole, unless its build may not fit: then it goes block by block
    # too, which skips a build it expects to overrun and answers with the greedy start.
    if len(blocks) > 1 or (deadline is not None and _tight(inputs, blocks, deadline)):
        plan = solve_blocks(
            inputs,
            blocks,
            solver,
            gap=gap,
            deadline=deadline,
            tolerance=tolerance,
            workers=workers,
        )
        if plan is not None:
            return plan
    problem = build_problem(inputs, tolerance=tolerance)
    return solve(problem, solver, time_limit=time_limit, gap=gap, deadline=deadline)


def _tight(inputs: Inputs, blocks: list[Block], deadline: float) -> bool:
    """Whether building the whole model may take more than a third of the time left."""
    pairs = sum(b.pairs for b in blocks) * len(inputs.periods)
    return BUILD_RATE * pairs > (deadline - time.monotonic()) / 3
