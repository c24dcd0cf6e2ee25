"""Solve a period launch set by launch set when the policy caps launched operations.

A cap on the operations launched per period (``max_joint_operations_per_period``) leaves
the relaxation free to launch every operation part-way and reap most of their boosts, and
CBC can then spend minutes closing a gap of a few percent. With the cap at L of J
operations, every plan launches a subset of some set of L operations; solving once per such
set, with the other launches fixed to zero, keeps each relaxation tight. The best plan over
the sets is optimal for the period, and the weakest of their bounds bounds the period.
Beyond :data:`MAX_SETS` sets the period is solved whole instead.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time

import numpy as np
import pulp

from crossplan.optimize.build import AllocationProblem
from crossplan.optimize.plan import Status
from crossplan.optimize.score import Allocation
from crossplan.optimize.solver_runs import MIN_SECONDS, Outcome, combined_status, run_solver

__all__ = ["MAX_SETS", "launch_sets", "solve_by_launch_set"]

MAX_SETS = 16


def launch_sets(n_operations: int, limit: int | None) -> list[tuple[int, ...]] | None:
    """The largest sets of operations that may launch together, or ``None`` (solve whole)."""
    if limit is None or limit >= n_operations or math.comb(n_operations, limit) > MAX_SETS:
        return None
    return list(itertools.combinations(range(n_operations), limit))


def solve_by_launch_set(
    problem: AllocationProblem,
    period: int,
    sets: list[tuple[int, ...]],
    solver: str,
    *,
    time_limit: float | None,
    gap: float | None,
    start: Allocation | None,
) -> Outcome:
    """Solve period ``period`` once per launch set; leave the best solution in its variables.

    Parameters
    ----------
    start
        A feasible allocation to start from (its launches outside a set are taken back
        for that set: shifts meet every constraint without a launch), or ``None``.
    """
    model = problem.models[period]
    launches = {j: y for (j, t), y in problem.launches.items() if t == period}
    variables = model.variables()
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    outcomes, bounds = [], []
    best: tuple[float, dict[pulp.LpVariable, float | None]] | None = None
    for k, chosen in enumerate(sets):
        for j, y in launches.items():
            y.upBound = 1 if j in chosen else 0
        if start is not None:
            mask = np.isin(np.arange(start.launched.shape[0]), chosen)[:, None]
            problem.set_start(dataclasses.replace(start, launched=start.launched & mask), period)
        share = None
        if deadline is not None:
            share = max((deadline - time.perf_counter()) / (len(sets) - k), MIN_SECONDS)
        outcome = run_solver(model, solver, time_limit=share, gap=gap, warm_start=start is not None)
        outcomes.append(outcome)
        value = outcome.objective
        if outcome.bound is not None:
            bounds.append(outcome.bound)
        elif outcome.status is Status.OPTIMAL and value is not None:
            bounds.append(value)
        if value is not None and (best is None or value < best[0]):
            best = (value, {v: v.varValue for v in variables})
    for y in launches.values():
        y.upBound = 1
    if best is not None:
        for v, val in best[1].items():
            v.varValue = val
    # The model minimises: the smallest bound over the sets bounds the whole period.
    bound = min(bounds) if len(bounds) == len(sets) else None
    return Outcome(
        status=combined_status(outcomes),
        has_solution=best is not None,
        objective=None if best is None else best[0],
        bound=bound,
        seconds=sum(o.seconds for o in outcomes),
        detail="; ".join(sorted({o.detail for o in outcomes})),
    )
