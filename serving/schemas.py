"""Request and response bodies of the planning service, with their limits.

These models are the service's manual: every field has a description, and the API manual
(``/docs``, reading the OpenAPI document ``/docs.json``) is generated from them. Unknown fields
are refused, so a misspelt option is an error rather than silently ignored.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass

from crossplan.optimize.forecast import ForecastRow
from crossplan.optimize.plan import Finding
from crossplan.pipelines.freshness import DataStatus
from crossplan.pipelines.plan_request import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    Horizon,
    ModelRef,
    PlanRequest,
)
from crossplan.pipelines.plan_use_case import PlanEnvelope
from crossplan.serving.operation_schemas import OperationStep
from crossplan.serving.webhook_urls import MAX_URL_LENGTH, URL_PATTERN

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CATEGORIES",
    "MAX_HORIZON",
    "MAX_REGIONS",
    "AlertItem",
    "AlertList",
    "AuditItem",
    "AuditList",
    "ErrorBody",
    "ErrorProblem",
    "FeatureCollection",
    "ForecastRequest",
    "ForecastResponse",
    "ForecastRow",
    "ModelCard",
    "ModelRef",
    "ObservedCounts",
    "ObservedRow",
    "PlanList",
    "PlanListItem",
    "PlanRequest",
    "PlanResponse",
    "ReloadResponse",
    "SubmissionResponse",
    "WebhookItem",
    "WebhookList",
    "WebhookRequest",
    "WhoAmI",
]

MAX_REGIONS = 5_000
MAX_CATEGORIES = 50
MAX_BODY_BYTES = 16 * 1024 * 1024

RegionId = Annotated[str, Field(min_length=1, max_length=100, description="A region_id")]
Category = Annotated[str, Field(min_length=1, max_length=100, description="An incident category")]


@dataclass(frozen=True, kw_only=True)
class PlanResponse(PlanEnvelope):
    """A plan (the same JSON as `crossplan plan`) with its audit identifiers; every plan the
    service makes is stored, so it always has an id."""

    plan_id: str = Field(description="Identifier under /plans/{plan_id}")
    # Wider than the envelope's: a stored plan always has one; another agency reads null.
    input_fingerprint: str | None = Field(  # type: ignore[assignment]
        description="SHA-256 of the request (resources and override resolved), the model "
        "version and the panel (the key's view of it, for an agency's key); null in a plan "
        "another agency made: it would say when that agency's view changed"
    )


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForecastRequest(_Body):
    """What to forecast."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"horizon": 4}, {"categories": ["smuggling_of_migrants"], "horizon": 2}]
        }
    )

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
    horizon: Horizon = Field(
        default=DEFAULT_HORIZON,
        description=f"Periods ahead, 1 to {MAX_HORIZON}; beyond the served model's horizon "
        "(GET /model) the answer is 400",
    )


class ForecastResponse(BaseModel):
    """A forecast, one row per region, category and period ahead."""

    model: ModelRef = Field(description="The model that made the forecast")
    forecasts: list[ForecastRow] = Field(description="Sorted by region, category, period")
    data: DataStatus = Field(description="The panel forecast from: as-of time and freshness")
    warnings: list[str] = Field(description="What to know before acting, e.g. stale data")


class PlanListItem(BaseModel):
    """One stored plan."""

    plan_id: str = Field(description="Identifier under /plans/{plan_id}")
    created_at: str = Field(description="When it was made (ISO 8601, UTC)")
    requester: str = Field(description="Name of the key that asked for it")
    status: str = Field(description="Solver status")
    objective: float | None = Field(
        description="Exact expected interdictions; null in a plan another agency made"
    )
    model_version: str | None = Field(description="Model version planned on")
    solver: str = Field(description="'cbc' or 'highs'")
    solve_seconds: float | None = Field(description="Time the solver took")
    total_seconds: float = Field(description="Time from request to stored plan")
    country: str | None = Field(default=None, description="The requester's country")
    agency: str | None = Field(default=None, description="The requester's agency")


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
        description="How the model was chosen: its kind ('candidate'), the gate's 'decision', "
        "every candidate's backtest deviance and coverage on the same window, and the "
        "'coverage_window' ({'lo', 'hi'}) a candidate's 80% coverage had to lie in",
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
    file: str | None = Field(default=None, description="The file at fault (submissions)")
    row: int | str | None = Field(
        default=None, description="Its row: the line of a CSV, the row of a Parquet file"
    )
    column: str | None = Field(default=None, description="Its column")


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


class WhoAmI(BaseModel):
    """The holder of the key that asks, and what the key may do."""

    name: str = Field(description="Name of the key, as given to `crossplan keys add`")
    role: Literal["reporter", "analyst", "planner", "admin"] = Field(description="The key's role")
    country: str | None = Field(default=None, description="The key's country (ISO 3166-1 alpha-3)")
    agency: str | None = Field(default=None, description="The key's agency")
    scope: Literal["agency", "national"] | None = Field(
        default=None,
        description="Which units its plans command: 'agency', its agency's; 'national', every "
        "unit of its country; null: every unit, in plans that bind no one (an operator key)",
    )
    may: list[Literal["submit", "read", "plan", "admin"]] = Field(
        description="What the role may do: 'submit' its country's rows, 'read' plans, the "
        "model and shared data, 'plan', 'admin'"
    )
    region_level: list[str] | None = Field(
        default=None,
        description="The regions this key reads region by region (its country's and its "
        "agreements'); null: every region (an operator key). Elsewhere it reads country "
        "totals only",
    )


class ObservedRow(BaseModel):
    """What was observed in one region, category and period."""

    region_id: str = Field(description="The region")
    category: str = Field(description="Incident category")
    period: date = Field(description="Start of the period")
    observed: int | None = Field(
        ge=0,
        description="Incidents observed: reported + detected, or count; null when suppressed",
    )
    suppressed: bool = Field(
        default=False,
        description="A small count another agency sent, hidden from this key (1 up to the "
        "suppression threshold)",
    )
    reported: int | None = Field(default=None, description="Came to light without patrols")
    detected: int | None = Field(default=None, description="Found by patrols or operations")
    effort: float | None = Field(default=None, description="Patrol effort spent, in unit-shifts")


class ObservedCounts(BaseModel):
    """Recent observed counts of the regions this key reads region by region; a missing cell
    has no row."""

    periods: list[date] = Field(description="The periods covered, oldest first")
    rows: list[ObservedRow] = Field(description="Sorted by region, category, period")


class SubmissionResponse(BaseModel):
    """What a submission did."""

    submission_id: int = Field(description="The stored submission (the earlier one if repeated)")
    received_at: str = Field(description="When it was received (ISO 8601, UTC)")
    fingerprint: str = Field(description="SHA-256 of its content: the same rows, the same value")
    file: str = Field(description="Its name in problems")
    rows: int = Field(description="Rows in the submission")
    new: int = Field(description="Cells not in the panel before")
    corrected: int = Field(description="Cells whose values changed: stored as new versions")
    unchanged: int = Field(description="Cells sent again with the same values")
    duplicate: bool = Field(description="True when the same content was submitted before")
    periods: list[str] = Field(description="The periods it covers")
    alerts: int = Field(description="Alerts it raised (GET /alerts)")
    quarantined: str | None = Field(
        None,
        description="Set when the service set the submission aside: the served model cannot "
        "forecast the panel with it, so it was reverted (every other agency's forecasts and "
        "plans go on from the panel without it) and an alert went to the administrators. "
        "The reason says what failed; fix: correct the values and submit again",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What was accepted but is worth a second look, e.g. covariate values "
        "outside the range the panel has seen",
    )


class AlertItem(BaseModel):
    """A region whose counts or forecast went above a forecast's q90 (a risk alert), or a
    step of a joint operation the key's country is party to (``operation``; the risk alert's
    fields are then null)."""

    id: int | None = Field(description="Alert id")
    created_at: str = Field(description="When it was raised (ISO 8601, UTC)")
    submission_id: int | None = Field(description="The submission that raised it")
    kind: Literal[
        "observed_above_q90",
        "forecast_jump",
        "submission_quarantined",
        "operation_proposed",
        "operation_pledged",
        "operation_declined",
        "operation_confirmed",
        "operation_expired",
        "operation_withdrawn",
        "operation_cancelled",
    ] = Field(
        description="'observed_above_q90': a new count above the last forecast's q90; "
        "'forecast_jump': the new forecast mean above the previous forecast's q90; "
        "'submission_quarantined': the served model could not forecast the panel with a "
        "submission, which was set aside (reverted): 'exceeded' holds the reason and the "
        "revert's submission id, 'value' the cells it had; "
        "'operation_*': a joint operation was proposed, pledged to, declined, confirmed, "
        "expired, withdrawn or cancelled"
    )
    region_id: str | None = Field(description="The region")
    country: str | None = Field(description="Its country")
    category: str | None = Field(description="Incident category")
    period: str | None = Field(description="The period (YYYY-MM-DD)")
    value: float | None = Field(
        description="The new count, or the new forecast mean (of this key's view of the panel)"
    )
    threshold: float | None = Field(description="The q90 it exceeded")
    exceeded: dict[str, Any] | None = Field(description="The forecast row that was exceeded")
    operation: OperationStep | None = Field(
        default=None, description="The joint operation's step, as this key's country reads it"
    )


class AlertList(BaseModel):
    """Alerts raised on this key's view of the panel, for the regions it reads region by
    region, and the steps of the joint operations its country is party to, newest first."""

    alerts: list[AlertItem] = Field(description="Newest first")


class WebhookRequest(_Body):
    """Where to post this agency's alerts, and the secret that signs them."""

    url: str = Field(
        min_length=8,
        max_length=MAX_URL_LENGTH,
        description="An https URL of a public host (plain http and private addresses only "
        "for hosts the operator allows); no user:password@, no #fragment; printable ASCII "
        "(percent-encode the rest; an international host name in its xn-- form). A token in "
        "its query is kept for posting and never shown again",
        # Documented here, checked by serving.webhook_urls, which says which character is
        # wrong and where.
        json_schema_extra={"pattern": URL_PATTERN},
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Optional: each post then carries 'X-Crossplan-Signature: sha256=<hex>', "
        "the HMAC-SHA256 of the body under this secret, for the receiver to check. Never "
        "shown again",
    )


class WebhookItem(BaseModel):
    """A registered webhook, as it may be shown: never its secret nor its query's values."""

    id: int = Field(description="Webhook id")
    key_name: str = Field(description="The key that registered it")
    country: str | None = Field(description="The agency's country")
    agency: str | None = Field(description="The agency")
    url: str = Field(description="Where alerts are posted, the query's values shown as ***")
    created_at: str = Field(description="When it was registered (ISO 8601, UTC)")
    signed: bool = Field(default=False, description="Whether posts are signed with a secret")
    active: bool = Field(
        default=True,
        description="false once the key that registered it is revoked or its agency "
        "changes: nothing is posted any more; register it again with a current key",
    )


class WebhookList(BaseModel):
    """The webhooks of this key's agency (every agency's for an operator key)."""

    webhooks: list[WebhookItem] = Field(description="Oldest first")


class AuditItem(BaseModel):
    """One event of the audit trail."""

    id: int = Field(description="Event id")
    at: str = Field(description="When (ISO 8601, UTC)")
    actor: str = Field(description="The key name, or 'cli' for the command line")
    action: str = Field(
        description="e.g. submission, revert, import, export, reload, promotion, key_added"
    )
    detail: dict[str, Any] = Field(description="What changed (never a key or its hash)")
    agency: str | None = Field(default=None, description="The actor's agency, when known")
    country: str | None = Field(default=None, description="The actor's country, when known")


class AuditList(BaseModel):
    """The audit trail, newest first."""

    events: list[AuditItem] = Field(description="Newest first")
