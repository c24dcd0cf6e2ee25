"""What pledging to an open joint operation is worth to the asking party.

The two plans of :func:`pipelines.pledge_value.pledge_value` run as any plan does: behind the
planning gate (429 when it is full), in a child process with the plan memory cap, killed at
the deadline (504). They read the asking key's own view of the panel and the pledges its
country may read, and the answer goes to that key alone.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crossplan.optimize.command import Command
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import confirmed_operations, get_operation, utcnow
from crossplan.pipelines.database.operation_state import OperationRecord
from crossplan.pipelines.database.operations import ConfirmedOperation
from crossplan.pipelines.errors import DataValidationError, OperationConflictError, Problem
from crossplan.pipelines.pledge_value import PledgeValue, horizon_through, pledge_value
from crossplan.serving.deps import PolicyDep, Reader, ServiceDep, SnapshotDep
from crossplan.serving.http_errors import PlanDeadlineError, PlanMemoryError
from crossplan.serving.isolation import ChildDied, ChildTimedOut, run_isolated
from crossplan.serving.routes.operations import OperationPath, documented_errors, expire_overdue

__all__ = ["PledgeValueBody", "router"]

router = APIRouter(tags=["operations"])

# Seconds each of the two plans may take, and what the whole answer may take.
PLAN_SECONDS = 10.0
DEADLINE_SECONDS = 2 * PLAN_SECONDS + 15.0


class SuggestedUnit(BaseModel):
    unit_id: str
    shifts: dict[str, int] = Field(description="Shifts per period (YYYY-MM-DD)")


class PledgeValueBody(BaseModel):
    """What pledging is worth to the asking key's country, computed on its own view."""

    operation_id: str
    country: str = Field(description="The party it was computed for: the key's country")
    periods: list[str] = Field(description="The operation's periods (YYYY-MM-DD)")
    unit: str = Field(description="What the figures count")
    with_pledge: float = Field(description="Your plan's value with your pledge")
    without_pledge: float = Field(description="Your plan's value without it")
    gain: float = Field(description="with_pledge − without_pledge")
    in_operation_regions: dict[str, float] = Field(
        description="The same two figures inside the operation's regions only"
    )
    need: dict[str, int] = Field(description="Shifts your country still has to pledge, per period")
    suggested_pledge: list[SuggestedUnit] = Field(
        description="Units of yours and shifts per period: where your plan with the pledge "
        "puts them, up to the need"
    )
    advice: str = Field(description="'pledge' when it gains, else 'decline'")
    reason: str = Field(description="The advice in one sentence")
    warnings: list[str]


@router.get(
    "/operations/{operation_id}/value",
    response_model=PledgeValueBody,
    responses=documented_errors(400, 404, 409),
    summary="What pledging to an open operation is worth to your country: your plan with and "
    "without your pledge, on your own view",
)
def operation_value(
    operation_id: OperationPath,
    who: Reader,
    svc: ServiceDep,
    snapshot: SnapshotDep,
    policy: PolicyDep,
) -> PledgeValueBody:
    expire_overdue(svc)
    started = time.monotonic()
    if who.country is None:
        raise DataValidationError([Problem("request", "an operator key has no pledge to weigh",
                                           "ask with a key of a party country",
                                           "Authorization")])  # fmt: skip
    operation = get_operation(svc.db, who.country, operation_id)
    status = operation.status(utcnow())
    if status != "open":
        raise OperationConflictError(f"{operation_id} is {status}; a value is computed for an "
                                     f"open operation — fix: GET /operations/{operation_id}")  # fmt: skip
    policy.require_rows()
    dataset = policy.dataset()
    model = snapshot.require_model()
    horizon = horizon_through(dataset, max(operation.periods))
    most = model.forecaster.horizon
    if not 1 <= horizon <= most:
        raise DataValidationError([Problem(
            "request", f"{operation_id} runs until {max(operation.periods)}, "
            f"{horizon} period(s) after the panel's last; the model forecasts {most}",
            "ask again once the panel has reached its periods", "operation_id",
        )])  # fmt: skip
    table = model.table(dataset, horizon, policy.audience)
    deadline = started + DEADLINE_SECONDS
    with svc.plan_gate.admit(deadline):
        args = (operation, confirmed_operations(svc.db), dataset, table, who.command)
        memory = svc.settings.plan_memory_mb * 1024 * 1024
        try:
            value: PledgeValue = run_isolated(
                _value, args, timeout=deadline - time.monotonic(), memory_bytes=memory
            )
        except ChildTimedOut:
            raise PlanDeadlineError(f"no value within {DEADLINE_SECONDS:g} s; the planning was "
                                    "stopped — fix: retry when the service is less busy") from None  # fmt: skip
        except ChildDied as err:
            raise PlanMemoryError(f"{err} — fix: ask the operator to raise "
                                  "CROSSPLAN_PLAN_MEMORY_MB") from None  # fmt: skip
    return _body(value)


def _value(
    operation: OperationRecord,
    confirmed: list[ConfirmedOperation],
    dataset: Dataset,
    table: Any,
    command: Command,
) -> PledgeValue:
    """:func:`pledge_value` in the planning process."""
    return pledge_value(operation, confirmed, dataset, table, command, time_limit=PLAN_SECONDS)


def _body(value: PledgeValue) -> PledgeValueBody:
    return PledgeValueBody.model_validate(value.to_dict())
