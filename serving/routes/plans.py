"""``POST /plan`` and the stored plans, as the key may read them."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from crossplan.pipelines.database import PlanRecord, PlanStore, confirmed_operations
from crossplan.serving.api import BAD_REQUEST, ERRORS
from crossplan.serving.deps import Planner, PolicyDep, Reader, Service, ServiceDep, SnapshotDep
from crossplan.serving.geojson import plan_feature_collection
from crossplan.serving.http_errors import PlanNotFoundError, error_body
from crossplan.serving.plan_process import plan_on_snapshot
from crossplan.serving.plan_sharing import with_parties
from crossplan.serving.routing import CompactBodyRoute
from crossplan.serving.schemas import (
    ErrorBody,
    FeatureCollection,
    PlanList,
    PlanListItem,
    PlanRequest,
    PlanResponse,
)
from crossplan.serving.sharing import Audience, SharingPolicy
from crossplan.serving.telemetry import metrics

__all__ = ["read_plan", "router"]

# A plan's forecast rows are kept as the forecast table, not one object per row.
router = APIRouter(route_class=CompactBodyRoute, tags=["plans"])


@router.post(
    "/plan",
    response_model=PlanResponse,
    responses={
        **ERRORS,
        **BAD_REQUEST,
        422: {"model": ErrorBody, "description": "No plan: the optimizer's diagnosis"},
        429: {
            "model": ErrorBody,
            "description": "Too many plans at once; retry after the Retry-After seconds",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait",
                    "schema": {"type": "integer"},
                }
            },
        },
        503: {
            "model": ErrorBody,
            "description": "No model is loaded yet, or the plan needs more memory than "
            "a plan may use",
        },
        504: {"model": ErrorBody, "description": "No plan within the request's time limit"},
    },
    summary="Plan patrols and joint operations; the plan is stored",
)
def plan(
    body: PlanRequest, who: Planner, svc: ServiceDep, snapshot: SnapshotDep, policy: PolicyDep
) -> dict[str, Any] | JSONResponse:
    started = time.perf_counter()
    outcome = plan_on_snapshot(
        snapshot,
        body,
        who,
        started,
        svc.plan_gate,
        policy,
        svc.settings.plan_memory_mb,
        operations=confirmed_operations(svc.db),
        limits=svc.settings.plan_limits,
    )
    # Stored with the countries the plan involves (not every country of its resources): no
    # other country lists or reads it. The requester reads it as it would read it stored.
    record = with_parties(outcome.record, snapshot.dataset.resources)
    response = policy.plan(record)
    svc.store.add(  # the plan and its audit line commit together
        record,
        by=who.name,
        status=record.status,
        countries=list(record.countries),
        agency=who.agency,
        country=who.country,
        binding=outcome.plan.binding,
    )
    m = metrics()
    m.plans.labels(status=record.status, solver=body.solver).inc()
    if record.solve_seconds is not None:
        m.solve_seconds.labels(solver=body.solver).observe(record.solve_seconds)
    if not outcome.feasible:
        return JSONResponse(
            error_body(
                "no plan meets every constraint; see the diagnosis",
                diagnosis=response["diagnosis"],
                plan_id=record.plan_id,
            ),
            422,
        )
    return response


@router.get(
    "/plans",
    response_model=PlanList,
    responses=ERRORS,
    summary="Recent plans, newest first",
)
def plans(
    who: Reader,
    svc: ServiceDep,
    policy: PolicyDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many plans")] = 50,
    requester: Annotated[
        str | None, Query(max_length=64, description="Only this key holder's plans")
    ] = None,
) -> PlanList:
    found = svc.store.recent(limit, requester, country=who.country, readable=policy.reads_plan)
    audience = Audience.of(who)
    return PlanList(
        plans=[
            PlanListItem(**vars(s) | ({} if audience.reads_figures(s) else {"objective": None}))
            for s in found
        ]
    )


@router.get(
    "/plans/{plan_id}",
    response_model=PlanResponse,
    responses={**ERRORS, 404: {"model": ErrorBody, "description": "No plan has this id"}},
    summary="A stored plan",
)
def get_plan(plan_id: str, _: Reader, svc: ServiceDep, policy: PolicyDep) -> dict[str, Any]:
    return _readable_plan(plan_id, svc, policy)


@router.get(
    "/plans/{plan_id}/geojson",
    response_model=FeatureCollection,
    responses={**ERRORS, 404: {"model": ErrorBody, "description": "No plan has this id"}},
    summary="A stored plan as GeoJSON: risk, effort, interdictions per period",
)
def get_plan_geojson(
    plan_id: str, _: Reader, svc: ServiceDep, snapshot: SnapshotDep, policy: PolicyDep
) -> JSONResponse:
    # Regions the plan does not show to this key keep their shape and no figures.
    plan = _readable_plan(plan_id, svc, policy)
    collection = plan_feature_collection(plan, snapshot.dataset)
    return JSONResponse(collection, media_type="application/geo+json")


def _readable_plan(plan_id: str, svc: Service, policy: SharingPolicy) -> dict[str, Any]:
    """A stored plan as ``policy``'s reader may read it; 404 alike for no plan and another's
    plan."""
    return read_plan(svc.store, policy, plan_id)[1]


def read_plan(
    store: PlanStore, policy: SharingPolicy, plan_id: str
) -> tuple[PlanRecord, dict[str, Any]]:
    """A stored plan and its body as ``policy``'s reader reads it.

    Raises
    ------
    PlanNotFoundError
        No plan has this id, or the reader may not read it (alike: 404).
    """
    record = store.get(plan_id)
    if record is None or not policy.reads_plan(record):
        raise PlanNotFoundError(
            f"no plan with id '{plan_id}' that your key may read — fix: GET /plans lists "
            "the plans it may read"
        )
    return record, policy.plan(record)
