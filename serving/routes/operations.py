"""Joint operations: a host proposes, its partners pledge or decline, the pledge that meets the
last need confirms it; the proposer may withdraw it, any party cancel it.

Each endpoint hands its request to :mod:`pipelines.database.operations`, which keeps the
rules and writes the step with its audit line, the parties' alerts and the posts they owe
to the parties' webhooks in one transaction; the outbox then sends the posts. Operations whose deadline
has passed are expired first. A key of a country that is not party to an operation is told
nothing of it: it is not listed, and every path of it answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from crossplan.pipelines.database import (
    Actor,
    Outcome,
    cancel,
    decline,
    expire_due,
    get_operation,
    list_operations,
    pledge,
    propose,
    utcnow,
    withdraw,
)
from crossplan.pipelines.database.operation_rules import OPERATION_ID
from crossplan.serving.api import ERRORS
from crossplan.serving.auth import Permission, Principal
from crossplan.serving.deps import Planner, Reader, Service, ServiceDep
from crossplan.serving.operation_schemas import (
    CancelRequest,
    DeclineRequest,
    OperationItem,
    OperationList,
    PledgeRequest,
    ProposalRequest,
    Status,
    WithdrawRequest,
)
from crossplan.serving.outbox import posts_for
from crossplan.serving.schemas import ErrorBody

__all__ = ["router"]

router = APIRouter(tags=["operations"])

OperationPath = Annotated[
    str,
    Path(pattern=OPERATION_ID.pattern, description="The operation's id (GET /operations)"),
]


def documented_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an endpoint, as the OpenAPI document names them."""
    said = {
        403: "The key's role may not do this; or, to withdraw, its country did not propose "
        "the operation",
        400: "Every problem of the request, with its field and how to fix it",
        404: "No operation of this id that the key's country is party to",
        409: "The operation's state forbids it: confirmed, expired, withdrawn, cancelled, or "
        "the party declined (or pledged, to decline); an id taken, by an operation or a "
        "candidate of the resources",
    }
    return {**ERRORS, **{s: {"model": ErrorBody, "description": said[s]} for s in statuses}}


def _actor(who: Principal) -> Actor:
    return Actor(who.name, who.country, who.agency, planner=who.may(Permission.PLAN))


def expire_overdue(svc: Service) -> None:
    """Write the expiry of the operations past their deadline, and post their alerts."""
    if expire_due(svc.db, posts=posts_for(svc.db)):
        svc.outbox.wake()


def _answer(svc: Service, done: Outcome, who: Principal) -> OperationItem:
    """The operation as ``who``'s country reads it; the outbox is woken to post the step's
    alerts, owed in the step's own transaction."""
    svc.outbox.wake()
    return OperationItem(**done.operation.to_dict(utcnow(), who.country))


@router.post(
    "/operations",
    status_code=201,
    response_model=OperationItem,
    responses=documented_errors(400, 409),
    summary="Propose a joint operation your country is party to: its regions, periods, each "
    "party's need and a deadline",
)
def propose_operation(body: ProposalRequest, who: Planner, svc: ServiceDep) -> OperationItem:
    expire_overdue(svc)
    done = propose(
        svc.db, svc.current().dataset, _actor(who), body.proposal(), posts=posts_for(svc.db)
    )
    return _answer(svc, done, who)


@router.get(
    "/operations",
    response_model=OperationList,
    responses=documented_errors(400),
    summary="The joint operations your country is party to, newest first",
)
def operations(
    who: Reader,
    svc: ServiceDep,
    status: Annotated[Status | None, Query(description="Only the operations in it")] = None,
) -> OperationList:
    expire_overdue(svc)
    now = utcnow()
    found = list_operations(svc.db, who.country, status=status, now=now)
    return OperationList(operations=[OperationItem(**o.to_dict(now, who.country)) for o in found])


@router.get(
    "/operations/{operation_id}",
    response_model=OperationItem,
    responses=documented_errors(400, 404),
    summary="One joint operation your country is party to, with every step",
)
def operation(operation_id: OperationPath, who: Reader, svc: ServiceDep) -> OperationItem:
    expire_overdue(svc)
    found = get_operation(svc.db, who.country, operation_id)
    return OperationItem(**found.to_dict(utcnow(), who.country))


@router.post(
    "/operations/{operation_id}/pledges",
    response_model=OperationItem,
    responses=documented_errors(400, 404, 409),
    summary="Pledge your agency's units and shifts; the pledge that meets the last need "
    "confirms the operation",
)
def pledge_units(
    operation_id: OperationPath, body: PledgeRequest, who: Planner, svc: ServiceDep
) -> OperationItem:
    expire_overdue(svc)
    dataset = svc.current().dataset
    done = pledge(svc.db, dataset, _actor(who), operation_id, body.pledges(), party=body.party,
                posts=posts_for(svc.db))  # fmt: skip
    return _answer(svc, done, who)


@router.post(
    "/operations/{operation_id}/decline",
    response_model=OperationItem,
    responses=documented_errors(400, 404, 409),
    summary="Decline for your country: the operation can then not be confirmed",
)
def decline_operation(
    operation_id: OperationPath, body: DeclineRequest, who: Planner, svc: ServiceDep
) -> OperationItem:
    expire_overdue(svc)
    done = decline(svc.db, _actor(who), operation_id, reason=body.reason, party=body.party,
                   posts=posts_for(svc.db))  # fmt: skip
    return _answer(svc, done, who)


@router.post(
    "/operations/{operation_id}/withdraw",
    response_model=OperationItem,
    responses=documented_errors(400, 403, 404, 409),
    summary="Withdraw an open operation your country proposed",
)
def withdraw_operation(
    operation_id: OperationPath, body: WithdrawRequest, who: Planner, svc: ServiceDep
) -> OperationItem:
    expire_overdue(svc)
    done = withdraw(svc.db, _actor(who), operation_id, reason=body.reason, posts=posts_for(svc.db))
    return _answer(svc, done, who)


@router.post(
    "/operations/{operation_id}/cancel",
    response_model=OperationItem,
    responses=documented_errors(400, 404, 409),
    summary="Call off an open or confirmed operation your country is party to, saying why",
)
def cancel_operation(
    operation_id: OperationPath, body: CancelRequest, who: Planner, svc: ServiceDep
) -> OperationItem:
    expire_overdue(svc)
    done = cancel(svc.db, _actor(who), operation_id, reason=body.reason, posts=posts_for(svc.db))
    return _answer(svc, done, who)
