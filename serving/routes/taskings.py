"""A stored plan's taskings to hand out, and what moved between two plans.

Each answer is made from the plans as the key reads them (:func:`serving.routes.plans.read_plan`,
the sharing rules of ``GET /plans/{id}``): a partner's tasking holds its own units in the
regions it reads, a country the plan does not involve gets 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from crossplan.serving.api import ERRORS
from crossplan.serving.deps import PolicyDep, Reader, ServiceDep, SnapshotDep
from crossplan.serving.plan_diff import PlanDiff, diff_plans
from crossplan.serving.routes.plans import read_plan
from crossplan.serving.schemas import ErrorBody
from crossplan.serving.tasking import PlanContext, tasking_csv, tasking_filename, tasking_rows
from crossplan.serving.tasking_page import tasking_html

__all__ = ["router"]

router = APIRouter(tags=["plans"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No plan has this id that the key reads"}
}
_PLAN_ID = Query(min_length=1, max_length=64, description="A plan id of GET /plans")


@router.get(
    "/plans/diff",
    response_model=PlanDiff,
    responses={**ERRORS, **_NOT_FOUND},
    summary="What moved from plan a to plan b: shifts, joint operations, figures",
)
def plans_diff(
    _: Reader,
    svc: ServiceDep,
    snapshot: SnapshotDep,
    policy: PolicyDep,
    a: Annotated[str, _PLAN_ID],
    b: Annotated[str, _PLAN_ID],
) -> PlanDiff:
    plan_a = read_plan(svc.store, policy, a)[1]
    plan_b = read_plan(svc.store, policy, b)[1]
    return diff_plans(plan_a, plan_b, snapshot.dataset.region_names)


@router.get(
    "/plans/{plan_id}/tasking.csv",
    response_class=Response,
    responses={**ERRORS, **_NOT_FOUND, 200: {"content": {"text/csv": {}}}},
    summary="A stored plan's taskings as CSV: per unit, period and region",
)
def tasking_as_csv(
    plan_id: str, _: Reader, svc: ServiceDep, snapshot: SnapshotDep, policy: PolicyDep
) -> Response:
    record, plan = read_plan(svc.store, policy, plan_id)
    rows = tasking_rows(plan, PlanContext.of(record.request, snapshot.dataset))
    name = tasking_filename(plan_id, "csv")
    return Response(
        tasking_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/plans/{plan_id}/tasking",
    response_class=Response,
    responses={**ERRORS, **_NOT_FOUND, 200: {"content": {"text/html": {}}}},
    summary="A stored plan's taskings as a printable page, one unit per page",
)
def tasking_as_page(
    plan_id: str, _: Reader, svc: ServiceDep, snapshot: SnapshotDep, policy: PolicyDep
) -> HTMLResponse:
    record, plan = read_plan(svc.store, policy, plan_id)
    rows = tasking_rows(plan, PlanContext.of(record.request, snapshot.dataset))
    name = tasking_filename(plan_id, "html")
    return HTMLResponse(
        tasking_html(plan, rows, requester=record.requester),
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
