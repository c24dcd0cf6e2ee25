"""Solve an instance block by block (:mod:`optimize.blocks`) and put the plans together.

All within one deadline:

1. a greedy start per block (:mod:`optimize.heuristics`), each seeing the shifts the blocks
   before it placed in the regions they share as fixed effort;
2. each block built and solved (fix-and-optimize), warm-started from its current plan, the
   other blocks' current shifts in shared regions fixed: every step meets every constraint
   and never loses value. Blocks go in waves (:func:`~optimize.blocks.waves`) of blocks
   that share nothing; a wave's blocks are built one after another in this thread and each
   solved in a worker as soon as it is built (:func:`block_workers` at once), so builds and
   solves overlap and the plan is the one solving them in turn gives (with one worker, each
   is solved in this thread right after its build). A wave gets a share of
   the time left in proportion to its size (eligible unit-region pairs) over the blocks it
   solves at once; a block whose build is expected to take more than :data:`_BUILD_SHARE`
   of its share is not built and keeps its start;
3. the blocks' shifts together; a joint operation is launched in a period where it is
   confirmed, or where it can be staffed and every party's commitment holds (under the
   policy's cap, those the blocks launched first).

The bound is honest. Blocks that share nothing add up: the sum of their solvers' bounds, and
the value of the regions no block touches, bound the plan. Blocks that share regions have no
such sum; the plan is then bounded by a Lagrangian bound of a relaxed model of the whole
instance (:mod:`optimize.bounds`), computed beside the blocks in the time kept for them. The
smaller of the two that exist is reported; without either, the gap is unknown.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossplan.optimize.blocks import Block, sub_inputs, waves
from crossplan.optimize.bounds import relaxed_bound_beside
from crossplan.optimize.build import AllocationProblem, build_problem, inputs_curves
from crossplan.optimize.curve import DEFAULT_TOLERANCE, Curves
from crossplan.optimize.heuristics import greedy_allocation
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.plan import Plan, Status
from crossplan.optimize.score import Allocation, commitments, effective_effort
from crossplan.optimize.solve import extract_allocation, fall_back, plan_of, run_periods
from crossplan.optimize.solver_runs import DEFAULT_GAP, MIN_SECONDS, Outcome, combined_status

__all__ = ["BUILD_RATE", "assemble", "block_workers", "settle", "solve_blocks"]

# With a deadline: the share of the time left the greedy starts may take, and the share of
# what is left after them kept for scoring and explaining the plan.
_GREEDY_SHARE = 0.3
_EXPLAIN_RESERVE = 0.15
# A block is built only when its build is expected to take at most this share of its time.
_BUILD_SHARE = 0.6
# Seconds to build one eligible unit-region pair in one period, before any is measured.
BUILD_RATE = 1e-4
# Units × regions up to which the greedy start plans the whole instance at once (its
# dense arrays take 8 bytes a cell); beyond, it plans block by block.
_GREEDY_CELLS = 40_000_000
# A block that shares regions is solved to this share of the gap asked for.
_SHARED_GAP = 0.25


@dataclass
class _Solved:
    """One block after solving: its bound (``None``: none) and how it ended."""

    bound: float | None
    outcomes: list[Outcome]
    skipped: bool = False


def solve_blocks(
    inputs: Inputs,
    blocks: list[Block],
    solver: str = "cbc",
    *,
    gap: float | None = None,
    deadline: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    workers: int | None = None,
) -> Plan | None:
    """Plan ``inputs`` block by block; ``None`` when a block has no greedy start (the
    caller then solves the instance whole, which diagnoses an infeasible one).

    Parameters
    ----------
    inputs, blocks
        The instance and its blocks (:func:`~optimize.blocks.find_blocks`).
    solver, gap
        MILP solver and relative gap of each block.
    deadline
        ``time.monotonic()`` by which the plan must be made; ``None``: no limit.
    tolerance
        Target relative error of the piecewise curves.
    workers
        Blocks solved at once (default :func:`block_workers`); 1 solves one after another.
    """
    began = time.perf_counter()
    gap = inputs.policy.mip_gap if gap is None else gap
    gap = DEFAULT_GAP if gap is None else gap
    pieces = _starts(inputs, blocks, deadline)
    if pieces is None:
        return None
    curves = inputs_curves(inputs, tolerance)
    greedy = assemble(inputs, pieces)
    solved: list[_Solved] = [_Solved(None, [], skipped=True) for _ in blocks]
    build_seconds, rate = 0.0, BUILD_RATE
    pool = None if deadline is None else (deadline - time.monotonic()) * (1 - _EXPLAIN_RESERVE)
    until = None if pool is None else time.monotonic() + pool
    # The relaxed bound needs only the greedy plan: it runs beside the blocks, ending when
    # they must.
    lp = None
    if any(b.shared.any() for b in blocks):
        lp = relaxed_bound_beside(inputs, curves, until, greedy)
    if workers is None:
        workers = block_workers(bound_beside=lp is not None and until is not None)
    workers = max(1, workers)
    n_t = len(inputs.periods)
    order = waves(blocks)
    executor = _Inline() if workers == 1 else ThreadPoolExecutor(workers, "crossplan-block")
    with executor as threads:
        for w, wave in enumerate(order):
            clock = _WaveClock(blocks, wave, workers, _wave_end(blocks, order[w:], workers, until))
            running: dict[int, Future[_Result]] = {}
            for k in wave:
                block = blocks[k]
                share = clock.build_share(k)
                if share is not None and rate * block.pairs * n_t > _BUILD_SHARE * share:
                    clock.drop(k)  # not built: it keeps its greedy start
                    continue
                built = time.perf_counter()
                sub = sub_inputs(inputs, block, _join(pieces, k) if block.shared.any() else None)
                start = settle(sub, _local(block, pieces[k]))
                problem = build_problem(
                    sub, curves=curves.subset(block.regions), tolerance=tolerance
                )
                seconds = time.perf_counter() - built
                build_seconds += seconds
                rate = max(rate, seconds / max(1, block.pairs * n_t))
                clock.built(k)
                # A shared block's own bound does not bound the whole: aim closer.
                aim = gap * _SHARED_GAP if block.shared.any() else gap
                running[k] = threads.submit(_solve, problem, solver, start, aim, clock, k)
            for k, future in running.items():
                outcomes, alloc, marked = future.result()
                bound = None if blocks[k].shared.any() else _block_bound(outcomes)
                pieces[k] = _global(blocks[k], alloc)
                solved[k] = _Solved(bound, marked)
    alloc = assemble(inputs, pieces)
    if _piecewise(inputs, curves, greedy) > _piecewise(inputs, curves, alloc):
        alloc = greedy
    piecewise = _piecewise(inputs, curves, alloc)
    bound = _bound(inputs, curves, blocks, solved, lp, until)
    status = _status(solved)
    if status is Status.OPTIMAL and (bound is None or bound - piecewise > gap * piecewise):
        status = Status.FEASIBLE  # each block is proved, the whole is not
    seconds = time.perf_counter() - began - build_seconds
    return plan_of(inputs, curves, alloc, status, bound, solver, seconds, build_seconds)


# What a block's solve gives back: its outcomes, and its plan with the periods the solver
# gave none for taken from the start, with those outcomes marked so.
_Result = tuple[list[Outcome], Allocation, list[Outcome]]


def block_workers(bound_beside: bool = False) -> int:
    """Blocks solved at once by default: one per core this process may use, but one fewer
    when the relaxed bound runs beside them against a deadline (it must end by then too).
    On 2 cores, 2 at once plan 1,500 regions in 0.68-0.89 of the time one at a time takes
    (``python -m benchmarks.bench_blocks``), the same plan."""
    return max(1, len(os.sched_getaffinity(0)) - (1 if bound_beside else 0))


class _Inline:
    """One block at a time: each solved in this thread as soon as it is built, as an
    executor (so the wave loop is the same), leaving the other cores to the bound."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def submit(self, fn: Callable[..., _Result], *args: Any) -> Future[_Result]:
        done: Future[_Result] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:  # raised again by result(), as a worker's would be
            done.set_exception(exc)
        return done


def _wave_end(
    blocks: list[Block], rest: list[list[int]], workers: int, until: float | None
) -> float | None:
    """When the first of the waves ``rest`` must be solved: its share of the time left, in
    proportion to its pairs over the blocks it solves at once."""
    if until is None:
        return None

    def cost(wave: list[int]) -> float:
        return sum(blocks[k].pairs for k in wave) / min(workers, len(wave))

    total = sum(cost(w) for w in rest) or 1.0
    now = time.monotonic()
    return now + max(0.0, until - now) * cost(rest[0]) / total


class _WaveClock:
    """The time of one wave: the builder gives each block a share of what is left in
    proportion to its pairs among the blocks not yet built, and each solve, when it starts,
    a share among those not yet started, times the solves that run at once. Thread-safe:
    solves start in the workers."""

    def __init__(self, blocks: list[Block], wave: list[int], workers: int, end: float | None):
        self._pairs = {k: max(1, blocks[k].pairs) for k in wave}
        self._unbuilt, self._waiting = set(wave), set(wave)
        self._workers, self._end = workers, end
        self._lock = threading.Lock()

    def build_share(self, k: int) -> float | None:
        """Seconds block ``k`` may take, building and solving, were it alone (``None``: no
        limit)."""
        if self._end is None:
            return None
        with self._lock:
            left = sum(self._pairs[j] for j in self._unbuilt)
            return max(0.0, self._end - time.monotonic()) * self._pairs[k] / left

    def built(self, k: int) -> None:
        with self._lock:
            self._unbuilt.discard(k)

    def drop(self, k: int) -> None:
        """Block ``k`` is not built, so not solved either."""
        with self._lock:
            self._unbuilt.discard(k)
            self._waiting.discard(k)

    def solve_limit(self, k: int) -> float | None:
        """The time limit of block ``k``'s solve, which starts now (``None``: none)."""
        with self._lock:
            left = sum(self._pairs[j] for j in self._waiting)
            at_once = min(self._workers, len(self._waiting))
            self._waiting.discard(k)
        if self._end is None:
            return None
        remaining = max(0.0, self._end - time.monotonic())
        return max(MIN_SECONDS, min(remaining, remaining * self._pairs[k] / left * at_once))


def _solve(
    problem: AllocationProblem,
    solver: str,
    start: Allocation,
    gap: float,
    clock: _WaveClock,
    k: int,
) -> _Result:
    """Solve block ``k``'s ``problem`` warm-started from ``start``, in a worker."""
    outcomes = run_periods(problem, solver, start, clock.solve_limit(k), gap)
    alloc, marked = fall_back(extract_allocation(problem), outcomes, start)
    return outcomes, alloc, marked


def _starts(inputs: Inputs, blocks: list[Block], deadline: float | None) -> list[Allocation] | None:
    """The greedy start of each block (indices of ``inputs``), sharing
    :data:`_GREEDY_SHARE` of the time left: one greedy plan of the whole instance cut into
    the blocks' pieces where its dense arrays fit in :data:`_GREEDY_CELLS`, else one per
    block, each seeing the shifts of the blocks before it as fixed effort."""
    until = (
        None
        if deadline is None
        else time.monotonic() + _GREEDY_SHARE * (deadline - time.monotonic())
    )
    n_ops, n_t = len(inputs.joint_operations), len(inputs.periods)
    if len(inputs.units) * len(inputs.regions.region_ids) <= _GREEDY_CELLS:
        whole = greedy_allocation(inputs, deadline=until)
        if whole is None:
            return None
        return [_piece(whole, block) for block in blocks]
    pieces = [_empty(n_ops, n_t) for _ in blocks]
    for k, block in enumerate(blocks):
        stop = None
        if until is not None:
            left = sum(b.pairs for b in blocks[k:]) or 1
            stop = time.monotonic() + max(0.0, until - time.monotonic()) * block.pairs / left
        sub = sub_inputs(inputs, block, _join(pieces, k) if block.shared.any() else None)
        start = greedy_allocation(sub, deadline=stop)
        if start is None:
            return None
        pieces[k] = _global(block, start)
    return pieces


def _piece(alloc: Allocation, block: Block) -> Allocation:
    """The shifts of ``block``'s units in ``alloc`` (with all of its launches)."""
    mine = np.isin(alloc.unit, block.units)
    return Allocation(
        alloc.unit[mine], alloc.region[mine], alloc.period[mine], alloc.shifts[mine], alloc.launched
    )


def _empty(n_ops: int, n_t: int) -> Allocation:
    none = np.zeros(0, dtype=int)
    return Allocation(none, none, none, np.zeros(0), np.zeros((n_ops, n_t), dtype=bool))


def _global(block: Block, alloc: Allocation) -> Allocation:
    """A block's allocation in the indices of the whole instance."""
    launched = np.zeros((0, alloc.launched.shape[1]), dtype=bool)
    if len(block.operations):
        n_ops = int(block.operations.max()) + 1
        launched = np.zeros((n_ops, alloc.launched.shape[1]), dtype=bool)
        launched[block.operations] = alloc.launched
    return Allocation(
        block.units[alloc.unit], block.regions[alloc.region], alloc.period, alloc.shifts, launched
    )


def _local(block: Block, alloc: Allocation) -> Allocation:
    """The whole instance's allocation ``alloc`` of ``block``'s units, in the block's indices."""
    unit_at = {int(u): k for k, u in enumerate(block.units)}
    region_at = {int(r): k for k, r in enumerate(block.regions)}
    n_t = alloc.launched.shape[1]
    launched = np.zeros((len(block.operations), n_t), dtype=bool)
    for k, j in enumerate(block.operations.tolist()):
        if j < alloc.launched.shape[0]:
            launched[k] = alloc.launched[j]
    return Allocation(
        np.array([unit_at[int(u)] for u in alloc.unit], dtype=int),
        np.array([region_at[int(r)] for r in alloc.region], dtype=int),
        alloc.period,
        alloc.shifts,
        launched,
    )


def _join(pieces: list[Allocation], but: int) -> Allocation:
    """The shifts of every piece but one (launches left out)."""
    rest = [p for k, p in enumerate(pieces) if k != but]
    return Allocation(
        np.concatenate([p.unit for p in rest]),
        np.concatenate([p.region for p in rest]),
        np.concatenate([p.period for p in rest]),
        np.concatenate([p.shifts for p in rest]),
        np.zeros((0, 0), dtype=bool),
    )


def assemble(inputs: Inputs, pieces: list[Allocation]) -> Allocation:
    """The pieces (allocations of ``inputs`` of disjoint units) as one, launches settled."""
    n_ops, n_t = len(inputs.joint_operations), len(inputs.periods)
    votes = np.zeros((n_ops, n_t))
    for p in pieces:
        votes[: p.launched.shape[0]] += p.launched
    joined = _join([*pieces, _empty(n_ops, n_t)], len(pieces))
    return settle(inputs, joined, votes)


def settle(inputs: Inputs, alloc: Allocation, votes: np.ndarray | None = None) -> Allocation:
    """``alloc`` with its launches settled: a confirmed operation is launched, another where
    it can be staffed and every party's commitment holds (under the policy's cap, the most
    voted first; ``votes`` default to ``alloc``'s own launches)."""
    n_ops, n_t = len(inputs.joint_operations), len(inputs.periods)
    if votes is None:
        votes = alloc.launched.astype(float) if alloc.launched.shape == (n_ops, n_t) else None
    votes = np.zeros((n_ops, n_t)) if votes is None else votes
    held = np.ones((n_ops, n_t), dtype=bool)
    for (j, _), per in commitments(inputs, alloc).items():
        held[j] &= per >= inputs.joint_operations[j].min_shifts_per_country
    forced = inputs.forced
    can = inputs.staffing.possible & held & ~forced
    launched = forced.copy()
    limit = inputs.policy.max_joint_operations_per_period
    for t in range(n_t):
        order = sorted(np.flatnonzero(can[:, t]).tolist(), key=lambda j: -votes[j, t])
        room = len(order) if limit is None else max(0, limit - int(forced[:, t].sum()))
        launched[order[:room], t] = True
    return Allocation(alloc.unit, alloc.region, alloc.period, alloc.shifts, launched)


def _piecewise(inputs: Inputs, curves: Curves, alloc: Allocation) -> float:
    return float(curves.value(effective_effort(inputs, alloc)).sum())


def _block_bound(outcomes: list[Outcome]) -> float | None:
    """Upper bound on a block's value: the sum of its periods' (models minimise minus the
    value, so their bounds are negated)."""
    total = 0.0
    for o in outcomes:
        if o.bound is not None:
            total += -o.bound if o.objective is None else max(-o.bound, -o.objective)
        elif o.status is Status.OPTIMAL and o.objective is not None:
            total += -o.objective
        else:
            return None
    return total


def _bound(
    inputs: Inputs,
    curves: Curves,
    blocks: list[Block],
    solved: list[_Solved],
    lp: Future[float] | None,
    until: float | None,
) -> float | None:
    """The blocks' summed bounds when none shares a region, else the relaxed bound (if
    it ended by ``until``: HiGHS may check its own limit late)."""
    found = []
    if lp is not None:
        wait = None if until is None else max(0.0, until - time.monotonic()) + 1.0
        try:
            value = lp.result(timeout=wait)
        except TimeoutError:
            value = None
        if value is not None:
            found.append(value)
    elif all(s.bound is not None for s in solved):
        touched = np.zeros(len(inputs.regions.region_ids), dtype=bool)
        for b in blocks:
            touched[b.regions] = True
        alone = curves.value(inputs.fixed.effort)[~touched].sum()
        found.append(float(alone) + sum(float(s.bound or 0.0) for s in solved))
    return min(found, default=None)


def _status(solved: list[_Solved]) -> Status:
    if any(s.skipped for s in solved):
        return Status.TIME_LIMIT
    return combined_status([o for s in solved for o in s.outcomes])
