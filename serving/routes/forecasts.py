"""``POST /forecast``: the served model's forecast, as the key may read it."""

from __future__ import annotations

from collections.abc import Sequence

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import Response

from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.serving.api import BAD_REQUEST, ERRORS
from crossplan.serving.deps import Planner, PolicyDep, SnapshotDep
from crossplan.serving.schemas import ForecastRequest, ForecastResponse
from crossplan.serving.sharing import SharingPolicy

__all__ = ["router"]

# The warning of every forecast an agency's key reads.
_SCOPE_WARNING = (
    "forecasts are made from the data your key may read, and shown for the regions it reads "
    "region by region (your country's and your agreements'); other countries are not forecast "
    "for it"
)

router = APIRouter(tags=["forecasts"])


@router.post(
    "/forecast",
    response_model=ForecastResponse,
    responses={**ERRORS, **BAD_REQUEST},
    summary="Forecast activity per region, category and period",
)
async def forecast(
    body: ForecastRequest, _: Planner, snapshot: SnapshotDep, policy: PolicyDep
) -> Response:
    model = snapshot.require_model()
    view = policy.audience
    # A question asked before is answered on the event loop; a new one off it.
    content = model.cached_answer(body.horizon, body.regions, body.categories, view)
    if content is None:
        _refuse_outside(policy, body.regions, "regions")
        policy.require_rows()
        about = snapshot.about_data(policy.freshness())
        if not view.operator:
            about["warnings"] = [*about["warnings"], _SCOPE_WARNING]
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


def _refuse_outside(policy: SharingPolicy, regions: Sequence[str] | None, field: str) -> None:
    """400 for regions asked for that ``policy``'s reader does not read region by region."""
    shown = policy.region_level
    if shown is None or regions is None:
        return
    problems = [
        Problem(
            "request",
            f"region '{rid}' is not one your key reads region by region",
            "ask for your country's regions and those your agreements cover (GET /me lists "
            "them); other countries are read as country totals at GET /incidents",
            f"{field}[{i}]",
        )
        for i, rid in enumerate(regions)
        if rid not in shown
    ]
    if problems:
        raise DataValidationError(problems)
