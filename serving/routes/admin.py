"""The operator's endpoints: reload the model, the audit trail, metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from crossplan.pipelines.database import audit_trail
from crossplan.serving.api import ERRORS
from crossplan.serving.deps import Admin, ServiceDep
from crossplan.serving.schemas import AuditItem, AuditList, ErrorBody, ReloadResponse
from crossplan.serving.telemetry import metrics_text

__all__ = ["router"]

router = APIRouter(tags=["admin"])


@router.post(
    "/admin/reload",
    response_model=ReloadResponse,
    responses={
        **ERRORS,
        400: {"model": ErrorBody, "description": "The data directory is invalid"},
        503: {"model": ErrorBody, "description": "MLflow cannot give the champion now"},
    },
    summary="Load the current champion and panel without a restart",
)
def reload(who: Admin, svc: ServiceDep) -> ReloadResponse:
    return svc.reload(who)


@router.get(
    "/audit",
    response_model=AuditList,
    responses=ERRORS,
    summary="Submissions, reverts, imports, exports, plans, webhooks, reloads, promotions, "
    "key changes, refused keys and submissions: the audit trail, newest first (an admin "
    "of a country reads that country's events)",
)
def audit(
    who: Admin,
    svc: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many events")] = 100,
    action: Annotated[str | None, Query(max_length=32, description="Only this action")] = None,
) -> AuditList:
    # An admin of a country reads the events of its country: an actor of it, or naming it.
    events = audit_trail(svc.db, limit, action, country=who.country)
    return AuditList(events=[AuditItem(**vars(e)) for e in events])


@router.get(
    "/metrics",
    responses={
        **ERRORS,
        200: {
            "description": "Prometheus metrics",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        404: {"model": ErrorBody, "description": "Metrics are served on a separate port"},
    },
    summary="Prometheus metrics, labelled by route template",
)
def metrics(_: Admin, svc: ServiceDep) -> Response:
    if svc.settings.metrics is not None:
        raise HTTPException(
            404, "metrics are served on the port CROSSPLAN_METRICS names — fix: scrape that"
        )
    body, media_type = metrics_text()
    return Response(body, media_type=media_type)
