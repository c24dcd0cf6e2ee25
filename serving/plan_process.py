"""``POST /plan`` on the served snapshot: the planning use-case plus the record to store.

Everything about planning itself is :func:`pipelines.plan_use_case.make_plan`, the one use case
``crossplan plan`` calls too; this module supplies the served panel (the requester's view of
it), the model and the units the requester commands (:attr:`serving.auth.Principal.command`), keeps one planner from taking the server, and describes the plan for the plan
store (with the panel's as-of time, so the plan can be re-derived from it):

- the request is checked once, its size against the service's limits
  (:attr:`serving.settings.Settings.plan_limits`, measured defaults
  :data:`~pipelines.plan_limits.SERVICE_LIMITS`) included, before it waits for a slot (400
  with how to make it smaller), and the plan is made from what that check resolved;
- the request has one deadline, its time limit (:func:`pipelines.plan_request.time_limit`),
  counted from its arrival: the solver gets what is left after the forecast, the start
  heuristic and the build, and the best plan found by then is answered with status
  ``time_limit``;
- the plan is made in a child process (:mod:`serving.isolation`) with a memory cap, killed
  with its solver if it has not answered :data:`KILL_GRACE_S` after the deadline (504);
- at most ``slots`` plans run at once and ``queue`` more wait; beyond that, 429 with
  ``Retry-After``.

``CROSSPLAN_PLAN_SLOTS``, ``CROSSPLAN_PLAN_QUEUE`` and ``CROSSPLAN_PLAN_MEMORY_MB`` set them
(:class:`serving.settings.Settings`; defaults :data:`~serving.settings.PLAN_SLOTS`,
:data:`~serving.settings.PLAN_QUEUE`, :data:`~serving.settings.PLAN_MEMORY_MB`).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from crossplan.optimize.command import Command
from crossplan.optimize.resources import Resources
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import ConfirmedOperation, PlanRecord
from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.pipelines.freshness import Freshness
from crossplan.pipelines.plan_limits import SERVICE_LIMITS, PlanLimits
from crossplan.pipelines.plan_request import (
    ModelForecast,
    ModelRef,
    PlanRequest,
    time_limit,
)
from crossplan.pipelines.plan_use_case import PlanEnvelope, check_request, make_plan
from crossplan.serving.auth import Principal
from crossplan.serving.http_errors import PlanDeadlineError, PlanMemoryError, PlansBusyError
from crossplan.serving.isolation import ChildDied, ChildTimedOut, run_isolated
from crossplan.serving.plan_sharing import plan_countries
from crossplan.serving.settings import PLAN_MEMORY_MB
from crossplan.serving.sharing import OPERATOR, SharingPolicy
from crossplan.serving.snapshot import Snapshot

__all__ = [
    "KILL_GRACE_S",
    "PlanGate",
    "PlanOutcome",
    "plan_on_snapshot",
]

# How long after its deadline a plan that has not answered is killed.
KILL_GRACE_S = 3.0


class PlanGate:
    """At most ``slots`` plans at once, ``queue`` more waiting, the rest refused (429).

    ``Retry-After`` is the recent mean time of a plan, rounded up.
    """

    def __init__(self, slots: int, queue: int) -> None:
        self.slots, self.queue = slots, queue
        self._running = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._admitted = 0
        self._mean_seconds = 5.0

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self._mean_seconds))

    @contextmanager
    def admit(self, deadline: float) -> Iterator[None]:
        """Hold a planning slot, waiting in the queue until ``deadline`` at most.

        Raises
        ------
        PlansBusyError
            The queue is full, or no slot freed up before the deadline.
        """
        with self._lock:
            if self._admitted >= self.slots + self.queue:
                raise PlansBusyError(
                    f"{self.slots} plans are being made and {self.queue} are waiting — fix: "
                    f"retry after {self.retry_after} s",
                    self.retry_after,
                )
            self._admitted += 1
        try:
            if not self._running.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise PlansBusyError(
                    "no planning slot freed up before the request's deadline — fix: retry "
                    f"after {self.retry_after} s, or give a longer 'time_limit_s'",
                    self.retry_after,
                )
            began = time.monotonic()
            try:
                yield
            finally:
                self._running.release()
                with self._lock:
                    self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * (time.monotonic() - began)
        finally:
            with self._lock:
                self._admitted -= 1


@dataclass(frozen=True)
class PlanOutcome:
    """A plan made: the plan and the record to store."""

    plan: PlanEnvelope
    record: PlanRecord

    @property
    def feasible(self) -> bool:
        return self.plan.feasible


def plan_on_snapshot(
    snapshot: Snapshot,
    request: PlanRequest,
    requester: Principal,
    started: float,
    gate: PlanGate | None = None,
    policy: SharingPolicy | None = None,
    memory_mb: int = PLAN_MEMORY_MB,
    operations: Sequence[ConfirmedOperation] | None = None,
    limits: PlanLimits = SERVICE_LIMITS,
) -> PlanOutcome:
    """Plan with the served panel and model, within the request's deadline.

    Parameters
    ----------
    snapshot
        Panel and model, fixed for the whole request.
    request
        The validated body.
    requester
        The key that asked.
    started
        ``time.perf_counter()`` when the request arrived.
    gate
        The queue of plans; ``None``: no queue.
    policy
        What the requester may read: the plan is made on its view of the panel
        (:meth:`serving.sharing.SharingPolicy.dataset`); ``None``: the whole panel.
    memory_mb
        What the planning process may allocate (``CROSSPLAN_PLAN_MEMORY_MB``).
    operations
        The shared database's confirmed joint operations: the plan launches those of the
        requester's country and keeps the pledges made to them (``None``: none are kept).
    limits
        The largest plan the service makes (:attr:`serving.settings.Settings.plan_limits`).

    Raises
    ------
    DataValidationError, PlanningFailedError
        See :func:`pipelines.plan_use_case.make_plan`.
    ModelUnavailableError
        No model is loaded and the request brings no forecast.
    PlansBusyError, PlanDeadlineError, PlanMemoryError
        Too many plans at once; no plan by the deadline; the plan needed too much memory.
    """
    policy = policy or SharingPolicy(snapshot.panel, OPERATOR)
    dataset = policy.dataset()
    if request.forecast is None:  # rows sent with the request need no panel rows
        policy.require_rows()
    # Checked once, before the queue: a request too large never waits.
    resources = check_request(request, dataset, limits)
    budget = time_limit(request, resources, limits) or limits.max_time_limit_s
    deadline = time.monotonic() - (time.perf_counter() - started) + budget
    plan_id = uuid.uuid4().hex
    made = _Made(
        snapshot.panel.fingerprint,
        snapshot.panel.as_of_iso,
        None if policy.audience.operator else policy.audience.label,
        resources,
        policy.freshness(),
        requester.command,
        None if operations is None else tuple(operations),
    )
    with gate.admit(deadline) if gate is not None else _no_gate():
        served = None
        if request.forecast is None:
            model = snapshot.require_model()
            table = model.table(dataset, request.horizon, policy.audience)
            served = ModelForecast(table, ModelRef(**model.ref))
        memory = memory_mb * 1024 * 1024
        try:
            kind, value = run_isolated(
                _plan_in_child,
                (request, dataset, served, made, plan_id, deadline, limits),
                timeout=deadline + KILL_GRACE_S - time.monotonic(),
                memory_bytes=memory,
            )
        except ChildTimedOut:
            raise PlanDeadlineError(
                f"no plan within the request's {budget:g} s; the planning was stopped — fix: "
                "a smaller plan (fewer units, joint operations or periods) or a longer "
                "'time_limit_s'"
            ) from None
        except ChildDied as err:
            raise PlanMemoryError(
                f"{err} (a plan may use {memory // 2**20} MiB) — fix: a smaller plan "
                "(fewer units, joint operations or periods)"
            ) from None
    if kind == "invalid":
        raise DataValidationError(value)
    plan: PlanEnvelope = value
    record = PlanRecord(
        plan_id=plan_id,
        created_at=plan.created_at,
        requester=requester.name,
        model_name=None if plan.model is None else plan.model.name,
        model_version=None if plan.model is None else plan.model.version,
        input_fingerprint=plan.input_fingerprint,
        status=plan.status.value,
        objective=plan.objective,
        solver=request.solver,
        solve_seconds=plan.solve_seconds,
        total_seconds=round(time.perf_counter() - started, 6),
        request=request.stored_json(),
        response=plan.to_dict(),
        data_as_of=snapshot.panel.as_of_iso,
        country=requester.country,
        agency=requester.agency,
        countries=tuple(plan_countries(resources, requester.country)),
    )
    return PlanOutcome(plan, record)


@dataclass(frozen=True)
class _Made:
    """What the planning process is told of the panel, besides the requester's view of it."""

    fingerprint: str
    as_of: str
    view: str | None
    resources: Resources
    fresh: Freshness
    command: Command
    operations: tuple[ConfirmedOperation, ...] | None


@contextmanager
def _no_gate() -> Iterator[None]:
    yield


def _plan_in_child(
    request: PlanRequest,
    dataset: Dataset,
    served: ModelForecast | None,
    made: _Made,
    plan_id: str,
    deadline: float,
    limits: PlanLimits,
) -> tuple[str, Any]:
    """:func:`make_plan` in the planning process; a data error comes back as its problems
    (``("invalid", problems)``), a plan as ``("plan", plan)``."""

    try:
        plan = make_plan(
            request,
            dataset,
            served,
            data_fingerprint=made.fingerprint,
            as_of=made.as_of,
            view=made.view,
            plan_id=plan_id,
            limits=limits,
            resources=made.resources,
            deadline=deadline,
            fresh=made.fresh,
            command=made.command,
            operations=made.operations,
        )
    except DataValidationError as err:
        problems: list[Problem] = err.problems
        return "invalid", problems
    return "plan", plan
