"""The planning use-case: a request, a dataset and a forecast source in, a plan envelope out.

``crossplan plan`` and ``POST /plan`` are thin adapters over :func:`make_plan`, which owns
every decision they share: which resources apply (the request's, else the dataset's), where
the forecast comes from (an override table, else the model), the one validation of both,
the time limit, the translation of the optimizer's errors into user errors, and the input
fingerprint. The same request therefore gives the same plan and the same fingerprint from
either door.

A service also passes :class:`PlanLimits`: the size of a plan is checked before any model is
built (one planner must not take the server's memory), the time limit (the request's or the
policy's) is capped, and a deadline bounds the whole request, the solver getting what is left
of it after the start heuristic and the build.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from optimize import InputError, Inputs, Plan, SolverError, plan_allocation
from optimize.errors import InputProblem
from optimize.forecast import FORECAST_COLUMNS, ForecastRow, forecast_problems, table_from_rows
from optimize.resources import Resources, reference_problems
from optimize.solvers import Solver
from pipelines.contract import Dataset
from pipelines.errors import DataValidationError, PlanningFailedError, Problem

__all__ = [
    "MAX_FORECAST_ROWS",
    "MAX_HORIZON",
    "MAX_TIME_LIMIT_S",
    "SERVICE_LIMITS",
    "ForecastSource",
    "JsonInt",
    "ModelRef",
    "PlanEnvelope",
    "PlanLimits",
    "PlanRequest",
    "make_plan",
    "plan_fingerprint",
    "size_problems",
]

MAX_HORIZON = 12
MAX_FORECAST_ROWS = 200_000
MAX_TIME_LIMIT_S = 600.0


def _json_integer(value: Any) -> Any:
    # pydantic's lax mode reads true as 1 and "4" as 4; JSON Schema's integer is neither
    # (but 4.0 is one, which strict mode would refuse).
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# An integer as JSON Schema means it: 4 or 4.0, never true or "4".
JsonInt = Annotated[int, BeforeValidator(_json_integer)]


@dataclasses.dataclass(frozen=True)
class PlanLimits:
    """How large and how long one plan may be.

    Attributes
    ----------
    max_units, max_joint_operations
        Most units and joint-operation candidates in the resources.
    max_cells
        Most units × regions × periods: the number of shift variables before eligibility
        prunes them, which is what building the model costs.
    max_time_limit_s
        Cap on the solver time limit, whether the request or the policy sets it.
    """

    max_units: int = 500
    max_joint_operations: int = 50
    # On two cores, a plan of 40,000 cells with 50 joint operations is built, started and
    # solved in about 10 s; four times as many take minutes before the solver even starts.
    max_cells: int = 40_000
    max_time_limit_s: float = MAX_TIME_LIMIT_S


# The limits of a plan requested over HTTP (the command line has none).
SERVICE_LIMITS = PlanLimits()


class ModelRef(BaseModel):
    """The model that produced a forecast."""

    name: str = Field(description="Registered model name, e.g. 'crossplan-risk'")
    version: str = Field(description="Registered model version")
    trained_at: str | None = Field(description="When it was trained (ISO 8601, UTC)")


# The model's forecast table for a dataset and horizon, and which model made it.
ForecastSource = Callable[[Dataset, int], tuple[pd.DataFrame, ModelRef]]


def _forecast_table(value: Any) -> pd.DataFrame:
    """The request's forecast rows as the forecast table (see :data:`ForecastRows`)."""
    if isinstance(value, pd.DataFrame):
        return value
    if not isinstance(value, list | tuple):
        raise PydanticCustomError("list_type", "Input should be a valid list")
    if not value:
        raise PydanticCustomError(
            "too_short", "List should have at least 1 item", {"min_length": 1}
        )
    if len(value) > MAX_FORECAST_ROWS:
        raise PydanticCustomError(
            "too_long",
            "List should have at most {max_length} items",
            {"max_length": MAX_FORECAST_ROWS},
        )
    rows = [row.model_dump() if isinstance(row, BaseModel) else row for row in value]
    table, problems = table_from_rows(rows)
    if problems:  # not a pydantic error: it carries each row's place
        raise DataValidationError([_problem(p, "forecast") for p in problems])
    return table


def _canonical_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    return _canonical(table)


# JSON rows in, the forecast table out, column by column: a large override is never held as
# one object per row (a 16 MB body would take 100 MB so). Rows are documented as
# :class:`~optimize.forecast.ForecastRow`; their values are checked with the table's one check
# when the plan is made.
ForecastRows = Annotated[
    pd.DataFrame,
    PlainValidator(_forecast_table),
    PlainSerializer(_canonical_rows, return_type=list[dict[str, Any]]),
    WithJsonSchema(
        {
            "type": "array",
            "items": ForecastRow.model_json_schema(),
            "minItems": 1,
            "maxItems": MAX_FORECAST_ROWS,
        }
    ),
]


class PlanRequest(BaseModel):
    """What to plan with (the body of ``POST /plan``; ``crossplan plan`` builds the same)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    horizon: JsonInt = Field(
        default=4,
        ge=1,
        le=MAX_HORIZON,
        description=f"Periods to plan, 1 to {MAX_HORIZON} (at most the served model's horizon "
        "unless 'forecast' rows are sent)",
    )
    resources: Resources | None = Field(
        default=None,
        description="Resources JSON; null: the resources.json of the served data directory. "
        f"One plan takes at most {SERVICE_LIMITS.max_units} units, {SERVICE_LIMITS.max_joint_operations} "
        f"candidate joint operations and {SERVICE_LIMITS.max_cells:,} units × regions × periods; "
        "a larger request gets 400, saying how to split it",
    )
    solver: Solver = Field(default="cbc", description="MILP solver")
    risk_quantile: float | None = Field(
        default=None,
        ge=0.1,
        le=0.9,
        description="Forecast quantile to plan on, from 0.1 to 0.9, instead of the policy's "
        "risk_quantile; null: the policy's",
    )
    time_limit_s: float | None = Field(
        default=None,
        ge=1,
        le=MAX_TIME_LIMIT_S,
        description="Time limit of the whole request in seconds (heuristic start, build, solve, "
        "explanations); the best plan found by then is answered with status 'time_limit'. "
        "null: the policy's time_limit_s, else the service's default (30 s); capped at "
        f"{MAX_TIME_LIMIT_S:g} s",
    )
    forecast: ForecastRows | None = Field(
        default=None,
        description="Forecast rows to plan on instead of the served model's forecast "
        f"(1 to {MAX_FORECAST_ROWS:,})",
    )

    @staticmethod
    def compact_json(document: Any) -> Any:
        """The parsed JSON of a request with its forecast rows as the forecast table.

        A web framework may keep the parsed body for the whole request, and a plan request
        may wait for a free slot: 100,000 rows held as one object each take about six times
        their text, the table a fraction of it. Rows that the table check refuses, or too
        many, stay as they are, for validation to report.
        """
        if not isinstance(document, dict):
            return document
        rows = document.get("forecast")
        if not isinstance(rows, list) or not 0 < len(rows) <= MAX_FORECAST_ROWS:
            return document
        table, problems = table_from_rows(rows)
        return document if problems else {**document, "forecast": table}

    def stored_json(self) -> str:
        """The request as JSON text, as a plan stores it: what ``model_dump_json`` writes,
        with the forecast rows written from the table (as dicts they would take six times
        their text while the plan is stored)."""
        head = self.model_dump_json(exclude={"forecast"})
        rows = "null" if self.forecast is None else _canonical_json(self.forecast)
        return f'{head[:-1]},"forecast":{rows}}}'


@dataclass(frozen=True, kw_only=True)
class PlanEnvelope(Plan):
    """A plan with what makes it auditable: when, from which model and which inputs."""

    plan_id: str | None = Field(
        description="Identifier under /plans/{plan_id}; null for plans the service did not store"
    )
    created_at: str = Field(description="When the plan was made (ISO 8601, UTC)")
    model: ModelRef | None = Field(description="Model whose forecast was planned on")
    input_fingerprint: str = Field(
        description="SHA-256 of the request (resources and override resolved), the model "
        "version and the panel"
    )


def plan_fingerprint(request: dict[str, Any], model_version: str | None, data: str) -> str:
    """SHA-256 of what a plan depends on: the resolved request, the model version, the panel."""
    doc = {"request": request, "model_version": model_version, "data": data}
    return hashlib.sha256(
        json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def make_plan(
    request: PlanRequest,
    dataset: Dataset,
    model: ForecastSource | None,
    *,
    data_fingerprint: str,
    forecast: pd.DataFrame | None = None,
    forecast_source: str = "forecast",
    default_time_limit: float | None = None,
    plan_id: str | None = None,
    limits: PlanLimits | None = None,
    deadline: float | None = None,
) -> PlanEnvelope:
    """Plan with the dataset's regions and recent counts.

    Parameters
    ----------
    request
        Horizon, resources (``None``: the dataset's), solver, time limit and optional
        forecast rows.
    dataset
        The panel planned on.
    model
        Gives the model's forecast when there is no override; ``None`` when there is no
        model (then an override is needed).
    data_fingerprint
        Fingerprint of the panel (:func:`pipelines.contract.input_fingerprint`).
    forecast, forecast_source
        An override table (e.g. read from a file) and its name in error messages; the
        request's own ``forecast`` rows take precedence.
    default_time_limit
        Solver time limit when neither the request nor the policy gives one.
    plan_id
        Identifier of a plan that will be stored.
    limits
        Size and time limits (a service's); ``None``: none.
    deadline
        ``time.monotonic()`` by which the plan must be made; the solver gets what is left of
        it once the model is built.

    Raises
    ------
    DataValidationError
        The request does not fit the dataset (unknown regions, no resources, bad forecast),
        or is larger than ``limits`` allow.
    PlanningFailedError
        The solver gave no plan.
    """
    rows = _row_problems(request, dataset)
    try:
        resources = _resources(request, dataset)
    except DataValidationError as err:
        raise DataValidationError([*rows, *err.problems]) from None
    if rows:
        raise DataValidationError(rows)
    if limits is not None:
        problems = size_problems(resources, len(dataset.regions), request.horizon, limits)
        if problems:
            raise DataValidationError(problems)
    table, source, ref = _forecast(request, dataset, model, forecast, forecast_source)
    time_limit = request.time_limit_s
    if time_limit is None and resources.policy.time_limit_s is None:
        time_limit = default_time_limit
    if limits is not None:  # the policy's own limit may be longer than the service allows
        asked = time_limit or resources.policy.time_limit_s or limits.max_time_limit_s
        time_limit = min(asked, limits.max_time_limit_s)
    try:
        inputs = Inputs.from_resources(
            resources,
            dataset.regions,
            table,
            dataset.recent_counts().to_dict(),
            horizon=request.horizon,
            forecast_source=source,
        )
        plan = plan_allocation(inputs, request.solver, time_limit=time_limit, deadline=deadline)
    except InputError as err:
        raise DataValidationError([_problem(p, source) for p in err.problems]) from None
    except SolverError as err:
        raise PlanningFailedError(
            f"{err} — fix: raise the time limit or try the other solver"
        ) from None
    resolved = {
        "horizon": request.horizon,
        "resources": resources.model_dump(mode="json"),
        "solver": request.solver,
        "time_limit_s": time_limit if time_limit is not None else resources.policy.time_limit_s,
        "forecast": None if ref is not None else _canonical(table),
    }
    version = None if ref is None else ref.version
    return PlanEnvelope(
        **{name: getattr(plan, name) for name in Plan.__dataclass_fields__},
        plan_id=plan_id,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        model=ref,
        input_fingerprint=plan_fingerprint(resolved, version, data_fingerprint),
    )


def size_problems(
    resources: Resources, n_regions: int, horizon: int, limits: PlanLimits
) -> list[Problem]:
    """What makes a plan larger than ``limits`` allow, each with how to make it smaller."""
    problems = []
    units, operations = len(resources.units), len(resources.joint_operations)
    if units > limits.max_units:
        problems.append(
            Problem(
                "request",
                f"{units} units; a plan takes at most {limits.max_units}",
                f"plan with at most {limits.max_units} units, e.g. one plan per country",
                "resources.units",
            )
        )
    if operations > limits.max_joint_operations:
        problems.append(
            Problem(
                "request",
                f"{operations} joint operations; a plan takes at most "
                f"{limits.max_joint_operations}",
                f"send at most {limits.max_joint_operations} candidate joint operations",
                "resources.joint_operations",
            )
        )
    cells = units * n_regions * horizon
    if cells > limits.max_cells:
        fit = max(1, limits.max_cells // max(1, n_regions * horizon))
        problems.append(
            Problem(
                "request",
                f"{units} units × {n_regions} regions × {horizon} periods = {cells:,} "
                f"unit-region-periods; a plan takes at most {limits.max_cells:,}",
                f"plan with at most {fit} units for this horizon, or a shorter 'horizon'",
                "resources.units",
            )
        )
    return problems


def _row_problems(request: PlanRequest, dataset: Dataset) -> list[Problem]:
    """Every problem of the request's forecast rows, reported with the resources' own."""
    if request.forecast is None:
        return []
    regions = list(dataset.regions["region_id"])
    return [_problem(p, "forecast") for p in forecast_problems(request.forecast, regions)]


def _resources(request: PlanRequest, dataset: Dataset) -> Resources:
    """The request's resources, else the data directory's, with the request's quantile."""
    resources = _given_resources(request, dataset)
    if request.risk_quantile is None:
        return resources
    policy = resources.policy.model_copy(update={"risk_quantile": request.risk_quantile})
    return resources.model_copy(update={"policy": policy})


def _given_resources(request: PlanRequest, dataset: Dataset) -> Resources:
    if request.resources is None:
        if dataset.resources is None:
            raise DataValidationError(
                [
                    Problem(
                        "request",
                        "no resources given and the data directory has no resources.json",
                        "send 'resources' in the body, or put resources.json in the data directory",
                        "resources",
                    )
                ]
            )
        return dataset.resources
    regions = dataset.regions
    country_of = dict(zip(regions["region_id"], regions["country"], strict=True))
    problems = reference_problems(request.resources, country_of)
    if problems:
        raise DataValidationError([_problem(p, "resources") for p in problems])
    return request.resources


def _forecast(
    request: PlanRequest,
    dataset: Dataset,
    model: ForecastSource | None,
    override: pd.DataFrame | None,
    source: str,
) -> tuple[pd.DataFrame, str, ModelRef | None]:
    """The table to plan on, its name in messages, and the model that made it (if any)."""
    if request.forecast is not None:
        return request.forecast, "forecast", None
    if override is not None:
        return override, source, None
    if model is None:
        raise DataValidationError(
            [Problem("request", "there is no model to forecast with", "send 'forecast' rows")]
        )
    table, ref = model(dataset, request.horizon)
    return table, "model forecast", ref


def _canonical(table: pd.DataFrame) -> list[dict[str, Any]]:
    """An override table as the same records wherever it came from (body rows or a file)."""
    return json.loads(_canonical_json(table))


def _canonical_json(table: pd.DataFrame) -> str:
    """:func:`_canonical`'s records as JSON text, written by pandas (no object per row)."""
    frame = table.copy()
    if "category" not in frame.columns:
        frame["category"] = "all"
    frame["period"] = pd.to_datetime(frame["period"], format="ISO8601").dt.strftime("%Y-%m-%d")
    frame = frame[list(FORECAST_COLUMNS)].sort_values(["region_id", "category", "period"])
    return str(frame.to_json(orient="records"))


def _problem(p: InputProblem, source: str) -> Problem:
    """An optimizer problem, located as the user gave the input.

    Request parts (``resources``, ``forecast`` rows) become field paths such as
    ``resources.units[2]`` or ``forecast[4]``; a file keeps its name and row.
    """
    if source in ("resources", "forecast"):
        path = p.where if p.where.startswith(source) else f"{source}.{p.where}"
        if p.row is not None:
            path = f"{source}[{p.row - 1}]"
        return Problem("request", p.message, p.fix, path.replace(".[", "["), p.field)
    if p.where == source:
        return Problem(source, p.message, p.fix, p.row, p.field)
    return Problem(source, p.message, p.fix, p.where, p.field)
