"""Who asks, and the shared data as the key may read it: regions, country borders, observed
counts, incidents, resources and the model card."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response

from crossplan.optimize.resources import Resources
from crossplan.serving.api import ERRORS, parse_date
from crossplan.serving.auth import Permission, Role
from crossplan.serving.deps import Anyone, PolicyDep, Reader, SnapshotDep
from crossplan.serving.schemas import (
    ErrorBody,
    FeatureCollection,
    ModelCard,
    ObservedCounts,
    WhoAmI,
)
from crossplan.serving.served_model import check_names
from crossplan.serving.views import (
    DEFAULT_OBSERVED_PERIODS,
    countries_collection,
    regions_collection,
)

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/me",
    tags=["keys"],
    response_model=WhoAmI,
    responses=ERRORS,
    summary="Who holds this key, its agency, and what it may do",
)
def me(who: Anyone, policy: PolicyDep) -> WhoAmI:
    may = [p.value for p in Permission if who.may(p)]
    shown = policy.region_level
    return WhoAmI.model_validate(
        {
            "name": who.name,
            "role": who.role.value,
            "country": who.country,
            "agency": who.agency,
            "scope": None if who.country is None else who.scope.value,
            "may": may,
            "region_level": None if shown is None else sorted(shown),
        }
    )


@router.get(
    "/regions",
    tags=["data"],
    response_model=FeatureCollection,
    responses=ERRORS,
    summary="The served regions as GeoJSON: region_id, country, name, kind",
)
def regions(_: Anyone, snapshot: SnapshotDep) -> JSONResponse:
    return JSONResponse(regions_collection(snapshot.dataset), media_type="application/geo+json")


@router.get(
    "/countries",
    tags=["data"],
    response_model=FeatureCollection,
    responses=ERRORS,
    summary="The served countries' borders as GeoJSON, each the union of its regions",
)
def countries(_: Anyone, snapshot: SnapshotDep) -> JSONResponse:
    return JSONResponse(countries_collection(snapshot.dataset), media_type="application/geo+json")


@router.get(
    "/observed",
    tags=["data"],
    response_model=ObservedCounts,
    responses=ERRORS,
    summary="Recent observed counts of the regions this key reads region by region",
)
def observed(
    who: Reader,
    policy: PolicyDep,
    periods: Annotated[
        int, Query(ge=1, le=520, description="How many of the latest periods")
    ] = DEFAULT_OBSERVED_PERIODS,
) -> JSONResponse:
    return JSONResponse(policy.observed(periods))


@router.get(
    "/resources",
    tags=["data"],
    response_model=Resources,
    responses={
        **ERRORS,
        404: {"model": ErrorBody, "description": "The data directory has no resources.json"},
    },
    summary="The served data directory's units, agreements, joint operations and policy",
)
def resources(_: Reader, policy: PolicyDep) -> Resources:
    resources = policy.panel.dataset.resources
    if resources is None:
        raise HTTPException(
            404,
            "the served data directory has no resources.json — fix: add one, or send "
            "'resources' with each POST /plan",
        )
    return policy.resources(resources)


@router.get(
    "/model",
    tags=["forecasts"],
    response_model=ModelCard,
    responses=ERRORS,
    summary="The served model, its backtest metrics, and whether the service is degraded",
)
def model(who: Reader, snapshot: SnapshotDep, policy: PolicyDep) -> ModelCard:
    # Where the data are stored is the operator's: its admins read it.
    storage = who.role is Role.ADMIN and who.country is None
    return ModelCard(**policy.card(snapshot.card(policy.view(), storage=storage)))


@router.get(
    "/incidents",
    tags=["data"],
    responses={**ERRORS, 200: {"content": {"text/csv": {}, "application/json": {}}}},
    summary="The shared panel as this key may read it: region rows, country totals, "
    "small counts suppressed",
)
def incidents(
    _: Reader,
    snapshot: SnapshotDep,
    policy: PolicyDep,
    region: Annotated[list[str] | None, Query(description="Only these regions")] = None,
    category: Annotated[list[str] | None, Query(description="Only these categories")] = None,
    start: Annotated[str | None, Query(description="First period, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(description="Last period, YYYY-MM-DD")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Response:
    check_names(snapshot.dataset, region, category, fields=("region", "category"))
    frame = policy.incidents(region, category, parse_date(start, "start"), parse_date(end, "end"))
    frame = frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d"))
    if format == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        return Response(buffer.getvalue(), media_type="text/csv")
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return JSONResponse({"as_of": policy.view().as_of, "rows": rows})
