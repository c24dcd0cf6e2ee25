"""Solve a built :class:`~optimize.build.AllocationProblem` and turn the solution into a :class:`Plan`."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import numpy as np

from crossplan.optimize.bounds import relaxed_bound_beside
from crossplan.optimize.build import AllocationProblem
from crossplan.optimize.curve import Curves
from crossplan.optimize.diagnose import elastic_diagnosis
from crossplan.optimize.errors import SolverError
from crossplan.optimize.explain import baselines, binding_constraints, marginal_values
from crossplan.optimize.heuristics import greedy_allocation
from crossplan.optimize.input_warnings import input_warnings
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.launch_sets import launch_sets, solve_by_launch_set
from crossplan.optimize.plan import (
    Assignment,
    Finding,
    OperationOutcome,
    OperationPeriod,
    Plan,
    RegionOutcome,
    Status,
)
from crossplan.optimize.score import (
    Allocation,
    commitments,
    effective_effort,
    score,
    shifts_by_region,
)
from crossplan.optimize.solver_runs import (
    MIN_SECONDS,
    Outcome,
    combined_status,
    run_blocks,
    run_solver,
)
from crossplan.optimize.staffing import LAUNCHED, NOT_LAUNCHED, not_chosen_reason

__all__ = [
    "extract_allocation",
    "fall_back",
    "given",
    "infeasible_plan",
    "plan_of",
    "run_periods",
    "solve",
]

# With a deadline: the share of the time left that the greedy start may take, and the share
# of what is left after it that is kept for scoring and explaining the plan.
_GREEDY_SHARE = 0.5
_EXPLAIN_RESERVE = 0.15
# Shift variables from which the relaxed bound (optimize.bounds) runs beside the solver:
# a gap when a stopped solver has no bound of its own.
_BESIDE = 40_000


def solve(
    problem: AllocationProblem,
    solver: str = "cbc",
    *,
    time_limit: float | None = None,
    gap: float | None = None,
    deadline: float | None = None,
) -> Plan:
    """Solve ``problem`` and explain the result.

    Parameters
    ----------
    problem
        Built by :func:`~optimize.build.build_problem` (not elastic).
    solver
        ``cbc`` (PuLP's bundled CBC) or ``highs``.
    time_limit, gap
        Seconds (shared by the periods) and relative gap; default to the policy's, then
        to no limit and :data:`~optimize.solver_runs.DEFAULT_GAP`.
    deadline
        ``time.monotonic()`` by which the plan must be made: the greedy start may take half
        of what is left, and the solver's time limit is cut to what is left after it, less a
        reserve for the explanations.

    Returns
    -------
    Plan
        With status ``infeasible`` and a diagnosis when no plan meets every constraint.

    Raises
    ------
    SolverError
        Unknown solver, solver failure, or no plan found within the time limit.
    """
    if problem.elastic:
        raise ValueError("solve() takes the planning model, not the elastic one")
    inputs = problem.inputs
    time_limit = inputs.policy.time_limit_s if time_limit is None else time_limit
    gap = inputs.policy.mip_gap if gap is None else gap
    began = time.perf_counter()
    greedy_deadline = None
    if deadline is not None:
        greedy_deadline = time.monotonic() + _GREEDY_SHARE * (deadline - time.monotonic())
    start = greedy_allocation(inputs, deadline=greedy_deadline)
    if deadline is not None:
        left = (deadline - time.monotonic()) * (1 - _EXPLAIN_RESERVE)
        time_limit = max(MIN_SECONDS, left if time_limit is None else min(time_limit, left))
    lp = None
    if start is not None and time_limit is not None and len(problem.shifts) >= _BESIDE:
        until = time.monotonic() + time_limit
        lp = relaxed_bound_beside(inputs, problem.curves, until, start)  # type: ignore[arg-type]
    outcomes = run_periods(problem, solver, start, time_limit, gap)
    # The greedy start is part of solving: count it in the solve time.
    seconds = time.perf_counter() - began
    if combined_status(outcomes) is Status.INFEASIBLE and start is None:
        # (With a start, the model is feasible: the greedy plan meets every constraint. CBC
        # can still call it infeasible when its time runs out in preprocessing; such a
        # period takes the start below.)
        findings = elastic_diagnosis(inputs, solver, time_limit=time_limit)
        return infeasible_plan(inputs, solver, findings, seconds, problem.build_seconds)
    alloc = extract_allocation(problem)
    stuck = [t for t, o in enumerate(outcomes) if not o.has_solution]
    if stuck:
        if start is None:
            limit = "without a time limit" if time_limit is None else f"within {time_limit:g} s"
            detail = outcomes[stuck[0]].detail
            raise SolverError(f"{solver} found no plan {limit} ({detail}); give it more time")
        alloc, outcomes = fall_back(alloc, outcomes, start)
    return _make_plan(problem, alloc, outcomes, seconds, solver, lp)


def fall_back(
    alloc: Allocation, outcomes: list[Outcome], start: Allocation
) -> tuple[Allocation, list[Outcome]]:
    """``alloc`` with the periods the solver gave no plan for taken from the greedy
    ``start`` (the best plan found for them), and their outcomes marked so (no bound)."""
    stuck = [t for t, o in enumerate(outcomes) if not o.has_solution]
    if not stuck:
        return alloc, outcomes
    marked = [
        replace(o, status=_stopped(o), bound=None) if t in stuck else o
        for t, o in enumerate(outcomes)
    ]
    return _with_periods(alloc, start, stuck), marked


def run_periods(
    problem: AllocationProblem,
    solver: str,
    start: Allocation | None,
    time_limit: float | None,
    gap: float | None,
) -> list[Outcome]:
    """Solve the models of ``problem`` one period after another, sharing ``time_limit``,
    warm-started from ``start`` (a period with a cap on launched operations a launch set at a
    time, :mod:`optimize.launch_sets`); their solutions are left in the variables."""
    inputs = problem.inputs
    solver_until = None if time_limit is None else time.monotonic() + time_limit
    if start is not None:
        problem.set_start(start)

    def run(t: int, seconds: float | None) -> Outcome:
        if start is not None and solver_until is not None and time.monotonic() >= solver_until:
            return Outcome(Status.TIME_LIMIT, False, None, None, 0.0, "no time was left")
        sets = _launch_sets(inputs, t)
        if sets is None:
            warm = start is not None
            return run_solver(
                problem.models[t], solver, time_limit=seconds, gap=gap, warm_start=warm
            )
        return solve_by_launch_set(
            problem, t, sets, solver, time_limit=seconds, gap=gap, start=start
        )

    return run_blocks(problem.models, solver, time_limit=time_limit, run=run)


def _launch_sets(inputs: Inputs, t: int) -> list[tuple[int, ...]] | None:
    """:func:`~optimize.launch_sets.launch_sets` of the operations period ``t`` can staff."""
    if inputs.forced[:, t].any():
        return None  # confirmed launches belong to every set: solve the period whole
    candidates = inputs.staffing.candidates(t)
    sets = launch_sets(len(candidates), inputs.policy.max_joint_operations_per_period)
    return None if sets is None else [tuple(candidates[k] for k in s) for s in sets]


def _stopped(outcome: Outcome) -> Status:
    """The status of a period planned by the greedy start because the solver had no plan."""
    stopped_on_time = outcome.status in (Status.TIME_LIMIT, Status.INFEASIBLE)
    return Status.TIME_LIMIT if stopped_on_time else Status.FEASIBLE


def _with_periods(alloc: Allocation, other: Allocation, periods: list[int]) -> Allocation:
    """``alloc`` with the shifts and launches of ``periods`` taken from ``other``."""
    mine, theirs = ~np.isin(alloc.period, periods), np.isin(other.period, periods)
    launched = alloc.launched.copy()
    launched[:, periods] = other.launched[:, periods]
    return Allocation(
        unit=np.concatenate([alloc.unit[mine], other.unit[theirs]]),
        region=np.concatenate([alloc.region[mine], other.region[theirs]]),
        period=np.concatenate([alloc.period[mine], other.period[theirs]]),
        shifts=np.concatenate([alloc.shifts[mine], np.round(other.shifts[theirs])]),
        launched=launched,
    )


def extract_allocation(problem: AllocationProblem) -> Allocation:
    """The solved model's shifts (rounded to integers) and launches."""
    keys, values = [], []
    for key, var in problem.shifts.items():
        value = round(var.varValue or 0.0)
        if value > 0:
            keys.append(key)
            values.append(value)
    idx = np.array(keys, dtype=int).reshape(-1, 3)
    n_ops, n_t = len(problem.inputs.joint_operations), len(problem.inputs.periods)
    launched = np.zeros((n_ops, n_t), dtype=bool)
    for (j, t), var in problem.launches.items():
        launched[j, t] = (var.varValue or 0.0) > 0.5
    return Allocation(
        unit=idx[:, 0],
        region=idx[:, 1],
        period=idx[:, 2],
        shifts=np.array(values, dtype=float),
        launched=launched,
    )


def _make_plan(
    problem: AllocationProblem,
    alloc: Allocation,
    outcomes: list[Outcome],
    seconds: float,
    solver: str,
    lp: Future[float] | None = None,
) -> Plan:
    inputs, curves = problem.inputs, problem.curves
    if curves is None:
        raise ValueError("an elastic model has no plan")
    per_period = curves.value(effective_effort(inputs, alloc)).sum(axis=0)
    bound: float | None = 0.0
    for o, pw in zip(outcomes, per_period, strict=True):
        if o.bound is not None:
            # Each model minimises minus the interdictions: its bound is the negated one.
            bound = None if bound is None else bound + max(-o.bound, float(pw))
        elif o.status is Status.OPTIMAL:
            # CBC proved the incumbent optimal without printing a bound: it is its own.
            bound = None if bound is None else bound + float(pw)
        else:
            bound = None  # stopped early with no bound: the gap is unknown
    if bound is None and lp is not None:
        bound = _result(lp)  # the relaxed bound, when it ended in time
    return plan_of(
        inputs,
        curves,
        alloc,
        combined_status(outcomes),
        bound,
        solver,
        seconds,
        problem.build_seconds,
    )


def _result(lp: Future[float]) -> float | None:
    try:
        return lp.result(timeout=1.0)
    except TimeoutError:
        return None


def plan_of(
    inputs: Inputs,
    curves: Curves,
    alloc: Allocation,
    status: Status,
    bound: float | None,
    solver: str,
    seconds: float,
    build_seconds: float,
) -> Plan:
    """The plan of ``alloc``, explained, with ``bound`` (on the piecewise objective, ``None``
    when unknown) turned into its gap and its upper bound on the exact objective."""
    effort = effective_effort(inputs, alloc)
    exact = score(inputs, alloc)
    piecewise = float(curves.value(effort).sum())
    error = curves.max_error
    gap = None
    if bound is not None:
        gap = (bound - piecewise) / piecewise if piecewise > 0 else (0.0 if bound <= 0 else None)
    return Plan(
        status=status,
        solver=solver,
        periods=inputs.periods,
        objective=float(exact.sum()),
        piecewise_objective=piecewise,
        upper_bound=None if bound is None else bound / (1.0 - error),
        gap=gap,
        approximation_error=error,
        solve_seconds=seconds,
        build_seconds=build_seconds,
        assignments=_assignments(inputs, alloc),
        regions=_region_outcomes(inputs, alloc, effort, exact),
        joint_operations=_operation_outcomes(inputs, alloc),
        baselines=baselines(inputs),
        binding_constraints=tuple(binding_constraints(inputs, alloc)),
        warnings=input_warnings(inputs),
        **given(inputs),
    )


def _assignments(inputs: Inputs, alloc: Allocation) -> tuple[Assignment, ...]:
    order = np.lexsort((alloc.region, alloc.unit, alloc.period))
    units, regions, periods = inputs.units, inputs.regions.region_ids, inputs.periods
    return tuple(
        Assignment(
            unit_id=units[alloc.unit[i]].unit_id,
            period=periods[alloc.period[i]],
            region_id=regions[alloc.region[i]],
            shifts=int(alloc.shifts[i]),
        )
        for i in order
    )


def _region_outcomes(
    inputs: Inputs, alloc: Allocation, effort: np.ndarray, exact: np.ndarray
) -> tuple[RegionOutcome, ...]:
    activity = inputs.activity.sum(axis=1)
    marginal = marginal_values(inputs, alloc)
    shifts = shifts_by_region(inputs, alloc)
    return tuple(
        RegionOutcome(
            region_id=region_id,
            period=period,
            shifts=round(float(shifts[r, t])),
            effort=float(effort[r, t]),
            expected_activity=float(activity[r, t]),
            expected_interdictions=float(exact[r, t]),
            marginal_value=float(marginal[r, t]),
        )
        for t, period in enumerate(inputs.periods)
        for r, region_id in enumerate(inputs.regions.region_ids)
    )


def _operation_outcomes(inputs: Inputs, alloc: Allocation) -> tuple[OperationOutcome, ...]:
    committed = commitments(inputs, alloc)
    return tuple(
        OperationOutcome(
            operation_id=op.operation_id,
            periods=tuple(
                OperationPeriod(
                    period=period,
                    launched=bool(alloc.launched[j, t]),
                    commitments={c: round(float(committed[(j, c)][t])) for c in op.countries},
                    confirmed=bool(inputs.forced[j, t]),
                    status=LAUNCHED if alloc.launched[j, t] else NOT_LAUNCHED,
                    reason=not_chosen_reason(
                        inputs.staffing,
                        inputs.policy.max_joint_operations_per_period,
                        alloc.launched,
                        j,
                        t,
                    ),
                )
                for t, period in enumerate(inputs.periods)
            ),
        )
        for j, op in enumerate(inputs.joint_operations)
    )


def infeasible_plan(
    inputs: Inputs,
    solver: str,
    findings: list[Finding],
    solve_seconds: float = 0.0,
    build_seconds: float = 0.0,
) -> Plan:
    """A plan with status ``infeasible`` that carries the diagnosis."""
    return Plan(
        status=Status.INFEASIBLE,
        solver=solver,
        periods=inputs.periods,
        solve_seconds=solve_seconds,
        build_seconds=build_seconds,
        diagnosis=tuple(findings),
        baselines=baselines(inputs),
        warnings=input_warnings(inputs),
        **given(inputs),
    )


def given(inputs: Inputs) -> dict[str, Any]:
    """What a plan repeats of its inputs, read-only: who plans, whether the plan binds the
    units it assigns, and the fixed effort of its periods."""
    return {
        "binding": inputs.command.binding,
        "command": inputs.command,
        "fixed_effort": inputs.fixed.rows,
        "confirmed": tuple(
            row for row in inputs.confirmed if row.period.isoformat() in inputs.periods
        ),
    }
