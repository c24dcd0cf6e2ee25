"""One ``POST /plan``: gather the inputs, call the optimizer, and describe the result for the store.

No planning logic lives here: the forecast comes from the served model (or the request), the
allocation from :mod:`optimize`; this module checks the request against the served panel and
records what the plan was made from.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from optimize import Inputs, plan_allocation
from optimize.errors import InputError, SolverError
from pipelines.contract import validate_resources
from pipelines.contract.regions import Regions
from pipelines.errors import DataValidationError, Problem
from serving.errors import PlanningFailedError
from serving.forecasts import Snapshot
from serving.schemas import PlanRequest
from serving.store import PlanRecord

__all__ = ["PlanOutcome", "input_fingerprint", "make_plan"]


@dataclass(frozen=True)
class PlanOutcome:
    """A plan made: the response body and the record to store."""

    body: dict[str, Any]
    record: PlanRecord

    @property
    def feasible(self) -> bool:
        return self.record.status != "infeasible"


def input_fingerprint(request: dict[str, Any], model_version: str | None, data: str) -> str:
    """SHA-256 of what a plan depends on: the request, the model version and the panel."""
    doc = {"request": request, "model_version": model_version, "data": data}
    return hashlib.sha256(
        json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def make_plan(
    snapshot: Snapshot, request: PlanRequest, requester: str, started: float
) -> PlanOutcome:
    """Plan with the served panel and model.

    Parameters
    ----------
    snapshot
        Panel and model, fixed for the whole request.
    request
        The validated body.
    requester
        Name of the key that asked.
    started
        ``time.perf_counter()`` when the request arrived.

    Raises
    ------
    DataValidationError
        The request does not fit the served panel (unknown regions, no resources, ...).
    ModelUnavailableError
        No model is loaded and the request brings no forecast.
    PlanningFailedError
        The solver gave no plan.
    """
    resources = _resources(snapshot, request)
    forecast, model = _forecast(snapshot, request)
    dataset = snapshot.dataset
    time_limit = request.time_limit_s
    if "time_limit_s" not in request.model_fields_set and resources["policy"].get("time_limit_s"):
        time_limit = float(resources["policy"]["time_limit_s"])
    try:
        inputs = Inputs.from_resources(
            resources,
            dataset.regions,
            forecast,
            dataset.recent_counts().to_dict(),
            horizon=request.horizon,
            forecast_source="forecast",
        )
        plan = plan_allocation(
            inputs, request.solver, time_limit=time_limit, gap=resources["policy"].get("mip_gap")
        )
    except InputError as err:
        raise DataValidationError(
            [Problem("request", p.message, p.fix, p.where) for p in err.problems]
        ) from None
    except SolverError as err:
        raise PlanningFailedError(
            f"{err} — fix: raise time_limit_s or try the other solver"
        ) from None
    request_doc = request.model_dump(mode="json")
    version = None if model is None else str(model["version"])
    fingerprint = input_fingerprint(request_doc, version, snapshot.data_fingerprint)
    plan_id = uuid.uuid4().hex
    created = datetime.now(UTC).isoformat(timespec="milliseconds")
    body = {
        "plan_id": plan_id,
        "created_at": created,
        "model": model,
        "input_fingerprint": fingerprint,
        **plan.to_dict(),
    }
    record = PlanRecord(
        plan_id=plan_id,
        created_at=created,
        requester=requester,
        model_name=None if model is None else str(model["name"]),
        model_version=version,
        input_fingerprint=fingerprint,
        status=str(body["status"]),
        objective=body.get("objective"),
        solver=request.solver,
        solve_seconds=body.get("solve_seconds"),
        total_seconds=round(time.perf_counter() - started, 6),
        request=request_doc,
        response=body,
    )
    return PlanOutcome(body, record)


def _resources(snapshot: Snapshot, request: PlanRequest) -> dict[str, Any]:
    dataset = snapshot.dataset
    if request.resources is None:
        if dataset.resources is None:
            raise DataValidationError(
                [
                    Problem(
                        "request",
                        "no resources given and the data directory has no resources.json",
                        "send 'resources' in the body",
                        "resources",
                    )
                ]
            )
        return dataset.resources
    regions = Regions(dataset.regions, dataset.geometries, dataset.adjacency)
    return validate_resources(request.resources.model_dump(), regions, "resources").model_dump()


def _forecast(
    snapshot: Snapshot, request: PlanRequest
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    if request.forecast is not None:
        frame = pd.DataFrame([row.model_dump() for row in request.forecast])
        _check_override(snapshot, frame)
        frame["period"] = pd.to_datetime(frame["period"])
        return frame, None
    model = snapshot.require_model()
    return model.table(snapshot.dataset, request.horizon), model.ref


def _check_override(snapshot: Snapshot, frame: pd.DataFrame) -> None:
    known = set(snapshot.dataset.regions["region_id"])
    unknown = frame.index[~frame["region_id"].isin(known)]
    problems = [
        Problem(
            "request",
            f"unknown region '{frame.at[i, 'region_id']}'",
            "use a region_id of the served panel",
            f"forecast[{i}]",
            "region_id",
        )
        for i in unknown[:50]
    ]
    duplicated = frame.index[frame.duplicated(["region_id", "category", "period"])]
    problems += [
        Problem(
            "request",
            "a second row for the same region, category and period",
            "send one row per region, category and period",
            f"forecast[{i}]",
        )
        for i in duplicated[:50]
    ]
    if problems:
        raise DataValidationError(problems)
