"""Request and response bodies of the planning service, with their limits.

These models are the service's manual: every field has a description, and the OpenAPI page
(the service's home page; ``/docs.json``) is generated from them. Unknown fields are refused,
so a misspelt option is an error rather than silently ignored.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.contract.resources import Agreement, JointOperation, Policy, Resources, Unit

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CATEGORIES",
    "MAX_DETECTION_RATE",
    "MAX_FORECAST_ROWS",
    "MAX_HORIZON",
    "MAX_REGIONS",
    "MAX_UNITS",
    "Assignment",
    "ErrorBody",
    "ErrorProblem",
    "FeatureCollection",
    "Finding",
    "ForecastRequest",
    "ForecastResponse",
    "ForecastRow",
    "JointOperationPlan",
    "ModelCard",
    "ModelRef",
    "PlanList",
    "PlanListItem",
    "PlanRequest",
    "PlanResources",
    "PlanResponse",
    "RegionPlan",
    "ReloadResponse",
]

MAX_HORIZON = 12
MAX_REGIONS = 5_000
MAX_CATEGORIES = 50
MAX_UNITS = 2_000
MAX_FORECAST_ROWS = 200_000
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DETECTION_RATE = 10.0  # beyond it one shift finds all but e^-10 of the incidents

RegionId = Annotated[str, Field(min_length=1, max_length=100, description="A region_id")]
Category = Annotated[str, Field(min_length=1, max_length=100, description="An incident category")]
Horizon = Annotated[
    int,
    Field(ge=1, le=MAX_HORIZON, description=f"Periods ahead, 1 to {MAX_HORIZON}"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForecastRequest(_Body):
    """What to forecast."""

    regions: list[RegionId] | None = Field(
        default=None,
        max_length=MAX_REGIONS,
        description="Regions to forecast; null: every region of the panel",
    )
    categories: list[Category] | None = Field(
        default=None,
        max_length=MAX_CATEGORIES,
        description="Categories to forecast; null: every category of the panel",
    )
    horizon: Horizon = 4


class ModelRef(BaseModel):
    """The model that produced a forecast."""

    name: str = Field(description="Registered model name, e.g. 'crossplan-risk'")
    version: str = Field(description="Registered model version")
    trained_at: str | None = Field(description="When it was trained (ISO 8601, UTC)")


class ForecastRow(BaseModel):
    """Expected activity (incidents that happen, found or not) in one region and period."""

    model_config = ConfigDict(allow_inf_nan=False)

    region_id: str = Field(description="Region of the panel")
    category: str = Field(description="Incident category, e.g. 'smuggling_of_migrants'")
    period: date = Field(description="Start of the period")
    activity_mean: float = Field(ge=0, description="Expected number of incidents")
    activity_q10: float = Field(ge=0, description="10% quantile of the number of incidents")
    activity_q50: float = Field(ge=0, description="Median number of incidents")
    activity_q90: float = Field(ge=0, description="90% quantile of the number of incidents")
    detection_rate: float = Field(
        ge=0,
        le=MAX_DETECTION_RATE,
        description="κ: one unit of effective effort finds an incident with chance 1 − exp(−κ)",
    )

    @model_validator(mode="after")
    def _quantiles_in_order(self) -> ForecastRow:
        if not self.activity_q10 <= self.activity_q50 <= self.activity_q90:
            raise ValueError("activity_q10 ≤ activity_q50 ≤ activity_q90 must hold")
        return self


class ForecastResponse(BaseModel):
    """A forecast, one row per region, category and period ahead."""

    model: ModelRef = Field(description="The model that made the forecast")
    forecasts: list[ForecastRow] = Field(description="Sorted by region, category, period")


class PlanResources(Resources):
    """Units, agreements, joint-operation candidates and policy (resources JSON, data contract v1)."""

    units: list[Unit] = Field(min_length=1, max_length=MAX_UNITS, description="Patrol units")
    agreements: list[Agreement] = Field(
        default_factory=list,
        max_length=MAX_UNITS,
        description="Cross-border agreements: countries that may work in each other's regions",
    )
    joint_operations: list[JointOperation] = Field(
        default_factory=list,
        max_length=MAX_UNITS,
        description="Candidate joint operations, launched only when every country commits",
    )
    policy: Policy = Field(
        default_factory=Policy,
        description="Budget, floors, caps and the forecast quantile to plan on",
    )


class PlanRequest(_Body):
    """What to plan with."""

    horizon: Horizon = 4
    resources: PlanResources | None = Field(
        default=None,
        description="Resources JSON; null: the resources.json of the served data directory",
    )
    solver: Literal["cbc", "highs"] = Field(default="cbc", description="MILP solver")
    time_limit_s: float = Field(
        default=30.0, gt=0, le=600, description="Solver time limit in seconds"
    )
    forecast: list[ForecastRow] | None = Field(
        default=None,
        max_length=MAX_FORECAST_ROWS,
        description="Forecast rows to plan on instead of the served model's forecast",
    )


class Assignment(BaseModel):
    """Shifts of one unit in one region and period."""

    unit_id: str = Field(description="The unit")
    period: str = Field(description="Start of the period (ISO date)")
    region_id: str = Field(description="Where it works")
    shifts: int = Field(ge=0, description="Shifts it works there in that period")


class RegionPlan(BaseModel):
    """What the plan does in one region and period, and why."""

    model_config = ConfigDict(extra="allow")

    region_id: str = Field(description="The region")
    period: str = Field(description="Start of the period (ISO date)")
    shifts: int = Field(ge=0, description="Shifts planned here")
    effort: float = Field(description="Effective effort: efficiency-weighted shifts, joint boost")
    expected_activity: float = Field(description="Activity planned on (at the risk quantile)")
    expected_interdictions: float = Field(description="Exact expected interdictions")
    marginal_value: float = Field(description="Expected interdictions of one more shift here")


class JointOperationPlan(BaseModel):
    """Whether a joint operation is launched in a period, and who commits what."""

    model_config = ConfigDict(extra="allow")

    operation_id: str = Field(description="The joint operation")
    period: str = Field(description="Start of the period (ISO date)")
    launched: bool = Field(description="Whether it is launched in this period")
    commitments: dict[str, int] = Field(description="Shifts per country inside its regions")


class Finding(BaseModel):
    """A constraint that cannot be met, and by how much."""

    model_config = ConfigDict(extra="allow")

    constraint: str = Field(description="Constraint name, e.g. 'floor[r017,2026-03-02]'")
    shortfall: float = Field(description="How far it is from being met, in `unit`")
    unit: str = Field(description="'shifts' or 'cost'")
    message: str = Field(description="What cannot be met, in words")
    source: str = Field(description="'pre-solve check' or 'elastic re-solve'")


class PlanResponse(BaseModel):
    """A plan (the same JSON as `crossplan plan`) with its audit identifiers."""

    model_config = ConfigDict(extra="allow")

    plan_id: str = Field(description="Identifier under /plans/{plan_id}")
    created_at: str = Field(description="When the plan was made (ISO 8601, UTC)")
    model: ModelRef | None = Field(description="Model whose forecast was planned on")
    input_fingerprint: str = Field(description="SHA-256 of request, model version and panel")
    status: Literal["optimal", "feasible", "time_limit", "infeasible"] = Field(
        description="How the solve ended; 'time_limit': the best plan found in time"
    )
    objective: float | None = Field(description="Exact expected interdictions over all periods")
    gap: float | None = Field(description="Relative optimality gap at the end of the solve")
    solver: str = Field(description="'cbc' or 'highs'")
    solve_seconds: float = Field(description="Time the solver took")
    periods: list[str] = Field(description="Planned periods (ISO dates)")
    assignments: list[Assignment] = Field(description="Shifts per unit, region and period")
    regions: list[RegionPlan] = Field(description="Outcome per region and period")
    joint_operations: list[JointOperationPlan] = Field(
        description="Each candidate joint operation per period"
    )
    baselines: dict[str, float | None] = Field(
        description="Exact objective of the uniform and proportional policies on this forecast"
    )
    binding_constraints: list[str] = Field(description="Names of the constraints that bind")
    diagnosis: list[Finding] | None = Field(
        default=None, description="Why there is no plan, when infeasible"
    )
    piecewise_objective: float | None = Field(
        default=None, description="Objective of the piecewise-linear model the solver saw"
    )
    upper_bound: float | None = Field(
        default=None, description="Bound on the exact objective of any feasible plan"
    )
    approximation_error: float | None = Field(
        default=None, description="Largest relative error of the piecewise-linear curve"
    )
    build_seconds: float | None = Field(default=None, description="Time to build the model")
    warnings: list[str] = Field(default_factory=list, description="Things to know about the plan")


class PlanListItem(BaseModel):
    """One stored plan."""

    plan_id: str = Field(description="Identifier under /plans/{plan_id}")
    created_at: str = Field(description="When it was made (ISO 8601, UTC)")
    requester: str = Field(description="Name of the key that asked for it")
    status: str = Field(description="Solver status")
    objective: float | None = Field(description="Exact expected interdictions")
    model_version: str | None = Field(description="Model version planned on")
    solver: str = Field(description="'cbc' or 'highs'")
    solve_seconds: float | None = Field(description="Time the solver took")
    total_seconds: float = Field(description="Time from request to stored plan")


class PlanList(BaseModel):
    """Recent plans, newest first."""

    plans: list[PlanListItem] = Field(description="Newest first")


class ModelCard(BaseModel):
    """The served model, and whether the service runs degraded."""

    loaded: bool = Field(description="Whether a model is loaded (the service is ready)")
    degraded: bool = Field(description="True when serving a local copy, not the live champion")
    reason: str | None = Field(description="Why the service is degraded or has no model")
    source: str | None = Field(description="'mlflow', 'local copy' or 'forecast file'")
    name: str | None = Field(description="Registered model name")
    version: str | None = Field(description="Model version")
    trained_at: str | None = Field(description="When it was trained (ISO 8601, UTC)")
    training_window: dict[str, str] | None = Field(description="First and last period trained on")
    horizon: int | None = Field(description="Largest horizon the model forecasts")
    metrics: dict[str, Any] = Field(description="Backtest metrics recorded with the model")
    detection_model: dict[str, Any] = Field(
        description="Detection rates κ per category and reporting rates"
    )
    selection: dict[str, Any] = Field(
        default_factory=dict,
        description="How the model was chosen: its kind ('candidate'), the gate's 'decision' "
        "and every candidate's backtest deviance and coverage on the same window",
    )
    loaded_at: str | None = Field(description="When this model was loaded (ISO 8601, UTC)")
    data: dict[str, Any] = Field(description="The panel forecasts are made from")


class ReloadResponse(BaseModel):
    """The result of reloading the champion."""

    previous_version: str | None = Field(description="Version served before the reload")
    model: ModelCard = Field(description="What is served now")


class ErrorProblem(BaseModel):
    """One thing wrong with a request."""

    field: str | None = Field(description="Where, e.g. 'resources.units[2].home_region'")
    message: str = Field(description="What is wrong")
    fix: str | None = Field(default=None, description="What to do about it")


class ErrorBody(BaseModel):
    """An error: what happened and, for a bad request, every problem with its field."""

    error: str = Field(description="What went wrong")
    problems: list[ErrorProblem] = Field(
        default_factory=list, description="Every problem of the request, with its field"
    )
    diagnosis: list[Finding] | None = Field(
        default=None, description="The optimizer's diagnosis (422)"
    )
    plan_id: str | None = Field(default=None, description="Stored infeasible plan (422)")


class FeatureCollection(BaseModel):
    """GeoJSON FeatureCollection (RFC 7946, WGS84)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"] = Field(description="Always 'FeatureCollection'")
    features: list[dict[str, Any]] = Field(
        description="One per region: properties risk_*, effort_*, shifts_*, interdictions_* "
        "per period (ISO date suffix) and their *_total"
    )
