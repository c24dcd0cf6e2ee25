"""Run CBC (PuLP's bundled binary) or HiGHS (highspy) and read how the solve ended.

PuLP's status codes stay in this module: callers get an :class:`Outcome` with our
:class:`~optimize.plan.Status`. Both solvers can stop on a time limit with a plan that PuLP
calls "optimal"; CBC's log and HiGHS's model status tell the two apart.

CBC checks its time limit only between the steps of its search: the root LP of a large model
can take many times the limit (ten seconds against a limit of 0.05 s, on 19,000 variables).
A CBC that is still running :data:`CBC_GRACE_S` after its limit (or starts after that, when
writing the model took that long) is killed, and the solve ends on the time limit without a
solution.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import psutil
import pulp

from crossplan.optimize.errors import SolverError
from crossplan.optimize.plan import Status

__all__ = [
    "CBC_GRACE_S",
    "DEFAULT_GAP",
    "MIN_SECONDS",
    "SOLVERS",
    "Outcome",
    "Solver",
    "combined_status",
    "run_blocks",
    "run_solver",
]

Solver = Literal["cbc", "highs"]
SOLVERS: tuple[str, ...] = get_args(Solver)
DEFAULT_GAP = 5e-3
_BOUND = re.compile(r"^(?:Upper|Lower) bound:\s+(-?[\d.eE+-]+)", re.MULTILINE)
_RESULT = re.compile(r"^Result - (.+)$", re.MULTILINE)
MIN_SECONDS = 0.05
# How long past its time limit CBC may run before it is killed.
CBC_GRACE_S = 1.0


@dataclass(frozen=True)
class Outcome:
    """How a solve ended.

    Parameters
    ----------
    status
        Our status; ``TIME_LIMIT`` may come with or without a solution.
    has_solution
        Whether variables hold a solution that meets every constraint.
    objective
        The model's objective at that solution; ``None`` without one.
    bound
        Solver's best bound on the objective, in the model's sense; ``None`` if unknown.
    seconds
        Wall time of the solver call (including writing and reading files for CBC).
    detail
        The solver's own words, for messages.
    """

    status: Status
    has_solution: bool
    objective: float | None
    bound: float | None
    seconds: float
    detail: str


def run_solver(
    model: pulp.LpProblem,
    solver: str = "cbc",
    *,
    time_limit: float | None = None,
    gap: float | None = None,
    warm_start: bool = False,
) -> Outcome:
    """Solve ``model`` in place with ``solver`` (``cbc`` or ``highs``).

    With ``warm_start``, the variables' current values are handed to the solver as a start.

    Raises
    ------
    SolverError
        Unknown solver, or the solver failed without a status we understand.
    """
    gap = DEFAULT_GAP if gap is None else gap
    if solver == "cbc":
        return _run_cbc(model, time_limit, gap, warm_start)
    if solver == "highs":
        return _run_highs(model, time_limit, gap, warm_start)
    raise SolverError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")


def run_blocks(
    models: Sequence[pulp.LpProblem],
    solver: str = "cbc",
    *,
    time_limit: float | None = None,
    gap: float | None = None,
    warm_start: bool = False,
    run: Callable[[int, float | None], Outcome] | None = None,
) -> list[Outcome]:
    """Solve independent models one after another, sharing ``time_limit`` between them.

    Each model gets an equal share of the time still left, so time a quick model leaves
    over goes to the ones after it. ``run(k, seconds)``, when given, solves model ``k``
    instead of a plain :func:`run_solver` call.
    """
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    outcomes = []
    for k, model in enumerate(models):
        share = None
        if deadline is not None:
            share = max((deadline - time.perf_counter()) / (len(models) - k), MIN_SECONDS)
        if run is not None:
            outcomes.append(run(k, share))
        else:
            outcomes.append(
                run_solver(model, solver, time_limit=share, gap=gap, warm_start=warm_start)
            )
    return outcomes


def combined_status(outcomes: Sequence[Outcome]) -> Status:
    """The status of several blocks: the worst of theirs."""
    order = [Status.INFEASIBLE, Status.TIME_LIMIT, Status.FEASIBLE, Status.OPTIMAL]
    return min((o.status for o in outcomes), key=order.index, default=Status.OPTIMAL)


def _run_cbc(
    model: pulp.LpProblem, time_limit: float | None, gap: float, warm_start: bool
) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="crossplan-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        # COIN_CMD on PuLP's own binary: PULP_CBC_CMD itself is deprecated in PuLP 3.3.
        command = pulp.COIN_CMD(
            path=pulp.PULP_CBC_CMD.pulp_cbc_path,
            msg=False,
            timeLimit=time_limit,
            gapRel=gap,
            logPath=str(log_path),
            warmStart=warm_start,
        )
        command.tmpDir = tmp  # CBC's files, and so its command line, name this directory
        killed, done = threading.Event(), threading.Event()
        watchdog = None
        if time_limit is not None:
            watchdog = threading.Thread(
                target=_watch_cbc, args=(tmp, time_limit + CBC_GRACE_S, killed, done), daemon=True
            )
            watchdog.start()
        start = time.perf_counter()
        try:
            model.solve(command)
        except pulp.PulpSolverError as err:
            if killed.is_set():
                seconds = time.perf_counter() - start
                detail = f"CBC was stopped {CBC_GRACE_S:g} s past its {time_limit:g} s limit"
                return Outcome(Status.TIME_LIMIT, False, None, None, seconds, detail)
            raise SolverError(f"CBC failed: {err}") from err
        finally:
            done.set()
        seconds = time.perf_counter() - start
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
    result = _RESULT.search(log)
    detail = result.group(1).strip() if result else pulp.LpStatus[model.status]
    bound_match = _BOUND.search(log)
    bound = float(bound_match.group(1)) if bound_match else None
    stopped_on_time = "time" in detail.lower()
    if model.status == pulp.LpStatusInfeasible:
        return Outcome(Status.INFEASIBLE, False, None, None, seconds, detail)
    if model.status == pulp.LpStatusOptimal:
        value = _objective_value(model)
        if model.sol_status == pulp.LpSolutionOptimal:
            return Outcome(Status.OPTIMAL, True, value, bound, seconds, detail)
        status = Status.TIME_LIMIT if stopped_on_time else Status.FEASIBLE
        return Outcome(status, True, value, bound, seconds, detail)
    if stopped_on_time:
        return Outcome(Status.TIME_LIMIT, False, None, None, seconds, detail)
    raise SolverError(f"CBC ended without a plan: {detail}")


def _watch_cbc(
    directory: str, seconds: float, killed: threading.Event, done: threading.Event
) -> None:
    """After ``seconds``, kill the CBC of ``directory`` until one is killed or the solve is
    done: PuLP writes the model before it starts CBC, which on a large model under load can
    take past the limit, so a CBC started late is killed as soon as it shows."""
    if done.wait(seconds):
        return
    while not done.is_set() and not killed.is_set():
        _kill_cbc(directory, killed)
        done.wait(0.05)


def _kill_cbc(directory: str, killed: threading.Event) -> None:
    """Kill the CBC process of this process whose files are in ``directory``."""
    for process in psutil.Process().children(recursive=True):
        try:
            if any(directory in arg for arg in process.cmdline()):
                process.kill()
                killed.set()
        except psutil.Error:  # it ended meanwhile
            continue


class _HiGHSWithStart(pulp.HiGHS):
    """PuLP's HiGHS interface, handing the variables' current values over as a start."""

    def callSolver(self, lp: pulp.LpProblem) -> None:
        variables = lp.variables()
        values = np.array([v.varValue or 0.0 for v in variables], dtype=float)
        index = np.array([v.index for v in variables], dtype=np.int32)
        lp.solverModel.setSolution(len(index), index, values)
        lp.solverModel.run()


_BANNER_LOCK = threading.Lock()


@functools.cache
def _silence_highs_banner() -> None:
    """HiGHS prints a banner on stdout when a process makes its first instance; make that one
    with stdout pointed at /dev/null, so plans printed or piped as JSON stay clean."""
    import highspy

    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _run_highs(
    model: pulp.LpProblem, time_limit: float | None, gap: float, warm_start: bool
) -> Outcome:
    import highspy

    with _BANNER_LOCK:  # blocks are solved in threads: the first must finish it alone
        _silence_highs_banner()
    interface = _HiGHSWithStart if warm_start else pulp.HiGHS
    command = interface(msg=False, timeLimit=time_limit, gapRel=gap)
    start = time.perf_counter()
    try:
        model.solve(command)
    except pulp.PulpSolverError as err:
        raise SolverError(f"HiGHS failed: {err}") from err
    seconds = time.perf_counter() - start
    highs = model.solverModel
    status = highs.getModelStatus()
    info = highs.getInfo()
    detail = highs.modelStatusToString(status)
    feasible = highspy.SolutionStatus.kSolutionStatusFeasible
    has_solution = int(info.primal_solution_status) == int(feasible)
    kind = highspy.HighsModelStatus
    if status in (kind.kInfeasible, kind.kUnboundedOrInfeasible):
        return Outcome(Status.INFEASIBLE, False, None, None, seconds, detail)
    # PuLP negates a maximisation for HiGHS, so its bound comes back negated too.
    sign = -1.0 if model.sense == pulp.LpMaximize else 1.0
    bound = _highs_bound(info, sign, has_solution, bool(model.isMIP()))
    if status == kind.kOptimal:
        return Outcome(Status.OPTIMAL, True, _objective_value(model), bound, seconds, detail)
    value = _objective_value(model) if has_solution else None
    if status == kind.kTimeLimit:
        return Outcome(Status.TIME_LIMIT, has_solution, value, bound, seconds, detail)
    if has_solution:
        return Outcome(Status.FEASIBLE, True, value, bound, seconds, detail)
    raise SolverError(f"HiGHS ended without a plan: {detail}")


def _highs_bound(info: Any, sign: float, has_solution: bool, mip: bool) -> float | None:
    if mip:
        dual = float(info.mip_dual_bound)
        return sign * dual if abs(dual) < float("inf") else None
    # An LP (no integer variable) has no MIP bound; its optimum is its own bound.
    return sign * float(info.objective_function_value) if has_solution else None


def _objective_value(model: pulp.LpProblem) -> float:
    """The objective at the variables' values, read from its nonzero terms only.

    PuLP hands a constant objective (a period with nothing to interdict) to the solver with
    a variable ``__dummy`` added, and takes it back out by subtracting it, which leaves it in
    the objective with a coefficient of zero. CBC's solution never gives ``__dummy`` a value,
    so ``pulp.value(model.objective)`` is ``None`` after a solve that found a plan.
    """
    objective = model.objective
    if objective is None:
        return 0.0
    return float(objective.constant) + sum(
        coef * (var.varValue or 0.0) for var, coef in objective.items() if coef != 0
    )
