"""A plan request: what ``POST /plan`` receives and ``crossplan plan`` builds, validated once.

The request's contract — its fields, their limits, the forecast rows held as the forecast
table — and the rules every door applies the same way: how large a plan may be
(:class:`PlanLimits`) and how long it may take (:func:`time_limit`).
"""

from __future__ import annotations

import dataclasses
import json
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
from pydantic_core import PydanticCustomError

from crossplan.optimize.errors import InputProblem
from crossplan.optimize.forecast import FORECAST_COLUMNS, ForecastRow, table_from_rows
from crossplan.optimize.resources import Resources
from crossplan.optimize.solver_runs import Solver
from crossplan.pipelines.contract.forecast_table import period_problems
from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.pipelines.plan_limits import MAX_TIME_LIMIT_S, SERVICE_LIMITS, PlanLimits

__all__ = [
    "DEFAULT_HORIZON",
    "MAX_FORECAST_ROWS",
    "MAX_HORIZON",
    "MAX_TIME_LIMIT_S",
    "SERVICE_LIMITS",
    "Horizon",
    "JsonInt",
    "ModelForecast",
    "ModelRef",
    "PlanLimits",
    "PlanRequest",
    "canonical_forecast",
    "located_problem",
    "time_limit",
]

MAX_HORIZON = 12
# Periods a request plans when it does not say.
DEFAULT_HORIZON = 4
MAX_FORECAST_ROWS = 200_000


def _json_integer(value: Any) -> Any:
    # pydantic's lax mode reads true as 1 and "4" as 4; JSON Schema's integer is neither
    # (but 4.0 is one, which strict mode would refuse).
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# An integer as JSON Schema means it: 4 or 4.0, never true or "4".
JsonInt = Annotated[int, BeforeValidator(_json_integer)]
# Periods ahead, for a plan and a forecast alike: the one bound of every door (a model
# forecasts fewer, which its own check says).
Horizon = Annotated[JsonInt, Field(ge=1, le=MAX_HORIZON)]


class ModelRef(BaseModel):
    """The model that produced a forecast."""

    name: str = Field(description="Registered model name, e.g. 'crossplan-risk'")
    version: str = Field(description="Registered model version")
    trained_at: str | None = Field(description="When it was trained (ISO 8601, UTC)")


@dataclasses.dataclass(frozen=True)
class ModelForecast:
    """A model's forecast table, ready to plan on, and which model made it."""

    table: pd.DataFrame
    ref: ModelRef


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
    table, problems = _table_of_rows(rows)
    if problems:  # not a pydantic error: it carries each row's place
        raise DataValidationError([located_problem(p, "forecast") for p in problems])
    return table


def _table_of_rows(rows: list[Any]) -> tuple[pd.DataFrame, list[InputProblem]]:
    """The forecast table of JSON rows, and what JSON can get wrong that the table's value
    check cannot read: the fields' JSON types, a period that is not text (``{}``, ``5``)."""
    table, problems = table_from_rows(rows)
    return table, problems or period_problems(table)


def _canonical_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    return canonical_forecast(table)


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

    model_config = ConfigDict(
        extra="forbid",
        arbitrary_types_allowed=True,
        # What the API manual offers to send (each is sent by the tests, and planned).
        json_schema_extra={
            "examples": [
                {"horizon": 2},
                {"horizon": 2, "solver": "cbc", "risk_quantile": 0.9, "time_limit_s": 20},
            ]
        },
    )

    horizon: Horizon = Field(
        default=DEFAULT_HORIZON,
        description=f"Periods to plan, 1 to {MAX_HORIZON} (at most the served model's horizon "
        "unless 'forecast' rows are sent)",
    )
    resources: Resources | None = Field(
        default=None,
        description="Resources JSON; null: the resources.json of the served data directory. "
        f"One plan takes at most {SERVICE_LIMITS.max_units} units, {SERVICE_LIMITS.max_joint_operations} "
        f"candidate joint operations and {SERVICE_LIMITS.max_cells:,} units × regions × periods "
        "(the defaults, measured; an operator may set others); a larger request gets 400, "
        "saying the largest that fits",
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
        table, problems = _table_of_rows(rows)
        return document if problems else {**document, "forecast": table}

    def stored_json(self) -> str:
        """The request as JSON text, as a plan stores it: what ``model_dump_json`` writes,
        with the forecast rows written from the table (as dicts they would take six times
        their text while the plan is stored)."""
        head = self.model_dump_json(exclude={"forecast"})
        rows = "null" if self.forecast is None else canonical_forecast_json(self.forecast)
        return f'{head[:-1]},"forecast":{rows}}}'


def canonical_forecast(table: pd.DataFrame) -> list[dict[str, Any]]:
    """An override table as the same records wherever it came from (body rows or a file)."""
    return json.loads(canonical_forecast_json(table))


def canonical_forecast_json(table: pd.DataFrame) -> str:
    """:func:`canonical_forecast`'s records as JSON text, written by pandas (no object per row)."""
    frame = table.copy()
    if "category" not in frame.columns:
        frame["category"] = "all"
    frame["period"] = pd.to_datetime(frame["period"], format="ISO8601").dt.strftime("%Y-%m-%d")
    frame = frame[list(FORECAST_COLUMNS)].sort_values(["region_id", "category", "period"])
    return str(frame.to_json(orient="records"))


def located_problem(p: InputProblem, source: str) -> Problem:
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


def time_limit(
    request: PlanRequest, resources: Resources, limits: PlanLimits | None
) -> float | None:
    """The time limit of a plan: the request's, else the policy's; with ``limits`` (a
    service's), else the default, within ``[min_time_limit_s, max_time_limit_s]``; without,
    none when neither sets one."""
    asked = request.time_limit_s or resources.policy.time_limit_s
    if limits is None:
        return asked
    asked = asked or limits.default_time_limit_s
    return min(max(asked, limits.min_time_limit_s), limits.max_time_limit_s)
