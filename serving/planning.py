"""``POST /plan`` on the served snapshot: the planning use-case plus the record to store.

Everything about planning itself is :func:`pipelines.planning.make_plan`; this module only
supplies the served panel and model, says how fresh the panel is, and describes the plan for
the plan store (with the panel's as-of time, so the plan can be re-derived from it).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.contract import Dataset
from pipelines.planning import ModelRef, PlanEnvelope, PlanRequest, make_plan
from serving.forecasts import Snapshot
from serving.store import PlanRecord

__all__ = ["DEFAULT_TIME_LIMIT_S", "PlanOutcome", "plan_on_snapshot"]

# The solver's time limit when neither the request nor the policy sets one.
DEFAULT_TIME_LIMIT_S = 30.0


@dataclass(frozen=True)
class PlanOutcome:
    """A plan made: the plan and the record to store."""

    plan: PlanEnvelope
    record: PlanRecord

    @property
    def feasible(self) -> bool:
        return self.plan.feasible


def plan_on_snapshot(
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
    DataValidationError, PlanningFailedError
        See :func:`pipelines.planning.make_plan`.
    ModelUnavailableError
        No model is loaded and the request brings no forecast.
    """

    def served(dataset: Dataset, horizon: int) -> tuple[pd.DataFrame, ModelRef]:
        model = snapshot.require_model()
        return model.table(dataset, horizon), ModelRef(**model.ref)

    plan_id = uuid.uuid4().hex
    about = snapshot.about_data()
    plan = make_plan(
        request,
        snapshot.dataset,
        served,
        data_fingerprint=snapshot.data_fingerprint,
        default_time_limit=DEFAULT_TIME_LIMIT_S,
        plan_id=plan_id,
    )
    record = PlanRecord(
        plan_id=plan_id,
        created_at=plan.created_at,
        requester=requester,
        model_name=None if plan.model is None else plan.model.name,
        model_version=None if plan.model is None else plan.model.version,
        input_fingerprint=plan.input_fingerprint,
        status=plan.status.value,
        objective=plan.objective,
        solver=request.solver,
        solve_seconds=plan.solve_seconds,
        total_seconds=round(time.perf_counter() - started, 6),
        request=request.model_dump(mode="json"),
        response=_with_data(plan.to_dict(), about),
        data_as_of=snapshot.panel.as_of_iso,
    )
    return PlanOutcome(plan, record)


def _with_data(response: dict[str, Any], about: dict[str, Any]) -> dict[str, Any]:
    """The plan with the panel's as-of time and freshness; stale data join its warnings."""
    return {
        **response,
        "data": about["data"],
        "warnings": [*response.get("warnings", []), *about["warnings"]],
    }
