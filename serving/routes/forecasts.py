"""``POST /forecast``: the served model's forecast, as the key may read it."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import Response

from serving.api import BAD_REQUEST, ERRORS, Planner, service
from serving.schemas import ForecastRequest, ForecastResponse
from serving.sharing import FORECAST_SCOPE, check_outside

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/forecast",
    response_model=ForecastResponse,
    responses={**ERRORS, **BAD_REQUEST},
    summary="Forecast activity per region, category and period (role: planner)",
)
async def forecast(body: ForecastRequest, who: Planner) -> Response:
    svc = service()
    snapshot = await anyio.to_thread.run_sync(svc.current)
    model = snapshot.require_model()
    policy = svc.policy(who, snapshot)
    view = policy.audience
    # A question asked before is answered on the event loop; a new one off it.
    content = model.cached_answer(body.horizon, body.regions, body.categories, view)
    if content is None:
        check_outside(policy, body.regions, "regions")
        about = snapshot.about_data()
        if not view.operator:
            about["warnings"] = [*about["warnings"], FORECAST_SCOPE]
        content = await anyio.to_thread.run_sync(
            lambda: model.answer(
                policy.dataset(),
                body.horizon,
                body.regions,
                body.categories,
                about,
                view=view,
                shown=policy.forecast,
            )
        )
    return Response(content, media_type="application/json")
