"""The forecast table the planner reads, as dense arrays aligned with the region table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crossplan.optimize.errors import InputError, InputProblem

__all__ = [
    "FORECAST_COLUMNS",
    "MAX_DETECTION_RATE",
    "QUANTILE_COLUMNS",
    "Forecast",
    "ForecastRow",
    "forecast_problems",
    "table_from_rows",
]

QUANTILE_COLUMNS = {0.1: "activity_q10", 0.5: "activity_q50", 0.9: "activity_q90"}
# The forecast table (docs/design.md, "Forecast semantics"): what every forecaster writes
# and the planner reads.
# ``category`` may be left out of a table given to the planner (it then means ``all``).
FORECAST_COLUMNS = (
    "region_id",
    "category",
    "period",
    "activity_mean",
    "activity_q10",
    "activity_q50",
    "activity_q90",
    "detection_rate",
)
_REQUIRED_COLUMNS = tuple(c for c in FORECAST_COLUMNS if c != "category")
_VALUE_COLUMNS = FORECAST_COLUMNS[3:]
MAX_DETECTION_RATE = 10.0  # beyond it one shift finds all but e^-10 of the incidents


class ForecastRow(BaseModel):
    """One row of the forecast table: expected activity (incidents that happen, found or not)
    in one region, category and period."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    region_id: str = Field(min_length=1, max_length=200, description="Region of the panel")
    category: str = Field(
        default="all",
        min_length=1,
        max_length=200,
        description="Incident category, e.g. 'smuggling_of_migrants'",
    )
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


_MAX_LISTED = 20


@dataclass(frozen=True, eq=False)
class Forecast:
    """Expected activity per region, category and period, and the detection rate.

    Arrays have shape ``(n_regions, n_categories, n_periods)`` and follow the order of the
    region table; a (region, category, period) the table does not cover has no activity.

    Parameters
    ----------
    categories
        Category names.
    periods
        Period starts, sorted.
    activity
        ``{"mean": array, 0.1: array, 0.5: array, 0.9: array}``.
    detection_rate
        κ per cell: one unit of effective effort finds an incident with chance 1 − exp(−κ).
    missing_regions
        Regions of the region table without any forecast row.
    """

    categories: tuple[str, ...]
    periods: tuple[pd.Timestamp, ...]
    activity: dict[object, np.ndarray]
    detection_rate: np.ndarray
    missing_regions: tuple[str, ...] = ()

    @property
    def period_labels(self) -> tuple[str, ...]:
        """Periods as ISO dates (``2026-03-02``), the form plans and constraint names use."""
        return tuple(p.strftime("%Y-%m-%d") for p in self.periods)

    def at_quantile(self, quantile: float | None) -> np.ndarray:
        """Activity at a risk quantile in [0.1, 0.9] (linear between q10, q50, q90).

        ``None`` gives the mean.
        """
        if quantile is None:
            return self.activity["mean"]
        q = float(quantile)
        if q <= 0.5:
            w = (q - 0.1) / 0.4
            lo, hi = self.activity[0.1], self.activity[0.5]
        else:
            w = (q - 0.5) / 0.4
            lo, hi = self.activity[0.5], self.activity[0.9]
        return np.asarray((1.0 - w) * lo + w * hi)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        region_ids: Sequence[str],
        *,
        horizon: int | None = None,
        source: str = "forecast",
    ) -> Forecast:
        """Validate a forecast table (:data:`FORECAST_COLUMNS`) and align it with ``region_ids``.

        Parameters
        ----------
        frame
            One row per (``region_id``, ``category``, ``period``); ``category`` is optional.
        region_ids
            Region order of the region table.
        horizon
            Keep only the first ``horizon`` periods.
        source
            Name of the table in error messages (e.g. the file name).

        Raises
        ------
        InputError
            Listing every problem: missing columns, unknown regions, negative or
            non-finite values, duplicate rows, unreadable periods, an empty table.
        """
        problems = forecast_problems(frame, region_ids, source)
        if problems:
            raise InputError(problems)
        df = frame.copy()
        if "category" not in df.columns:
            df["category"] = "all"
        df["category"] = df["category"].astype(str)
        df["period"] = (
            pd.to_datetime(df["period"], format="ISO8601").dt.tz_localize(None).dt.normalize()
        )
        periods = sorted(df["period"].unique())
        if horizon is not None:
            if horizon < 1:
                raise InputError(
                    [InputProblem("horizon", f"must be at least 1, got {horizon}", "use H ≥ 1")]
                )
            periods = periods[:horizon]
            df = df[df["period"].isin(periods)]
        categories = tuple(sorted(df["category"].unique()))
        r_index = {r: i for i, r in enumerate(region_ids)}
        c_index = {c: i for i, c in enumerate(categories)}
        t_index = {p: i for i, p in enumerate(periods)}
        ri = df["region_id"].astype(str).map(r_index).to_numpy()
        ci = df["category"].map(c_index).to_numpy()
        ti = df["period"].map(t_index).to_numpy()
        shape = (len(region_ids), len(categories), len(periods))
        arrays: dict[object, np.ndarray] = {}
        for key, column in [("mean", "activity_mean"), *QUANTILE_COLUMNS.items()]:
            arrays[key] = np.zeros(shape)
            arrays[key][ri, ci, ti] = df[column].to_numpy(dtype=float)
        kappa = np.zeros(shape)
        kappa[ri, ci, ti] = df["detection_rate"].to_numpy(dtype=float)
        covered = set(df["region_id"].astype(str))
        missing = tuple(r for r in region_ids if r not in covered)
        return cls(
            categories=categories,
            periods=tuple(pd.Timestamp(p) for p in periods),
            activity=arrays,
            detection_rate=kappa,
            missing_regions=missing,
        )


_TEXT_COLUMNS = ("region_id", "category")
_MAX_TEXT = 200


def table_from_rows(rows: Sequence[object]) -> tuple[pd.DataFrame, list[InputProblem]]:
    """The forecast table of JSON rows (objects with :class:`ForecastRow`'s fields), built
    column by column, and what JSON can get wrong that a table cannot show.

    A list of 100,000 rows held as one object each takes about six times its JSON text; the
    columns take a fraction of it. The problems are the JSON types :class:`ForecastRow`
    documents: a row that is not an object, an unknown field, text or true/false where a
    number belongs, an empty or overlong name. Values are checked as a table afterwards, by
    :func:`forecast_problems`, as for a forecast file.
    """
    known = set(FORECAST_COLUMNS)
    columns: dict[str, list[object]] = {name: [] for name in FORECAST_COLUMNS}
    problems: list[InputProblem] = []
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(
                InputProblem("forecast", "not an object", "give each row as {...}", row=i)
            )
            continue
        for name in row.keys() - known:
            problems.append(
                InputProblem(
                    "forecast",
                    f"unknown field {_shown(name)}",
                    f"use only the fields {', '.join(FORECAST_COLUMNS)}",
                    str(name),
                    i,
                )
            )
        for name, values in columns.items():
            values.append(row.get(name, "all" if name == "category" else None))
    if problems:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS)), problems[:_MAX_LISTED]
    table = pd.DataFrame(columns)
    for name in _TEXT_COLUMNS:
        text = table[name].map(lambda v: isinstance(v, str) and 0 < len(v) <= _MAX_TEXT)
        problems += _json_type_problems(table, name, ~text.to_numpy(dtype=bool), "a name")
    for name in _VALUE_COLUMNS:
        number = table[name].map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        problems += _json_type_problems(table, name, ~number.to_numpy(dtype=bool), "a number")
    return table, problems[:_MAX_LISTED]


def _json_type_problems(
    table: pd.DataFrame, column: str, bad: np.ndarray, kind: str
) -> list[InputProblem]:
    """A problem for each of the first rows where ``bad`` holds: the cell is not ``kind``."""
    fix = (
        f"give a number, e.g. {column}: 1.5"
        if kind == "a number"
        else f"give {column} as text of 1 to {_MAX_TEXT} characters"
    )
    return [
        InputProblem(
            "forecast",
            f"must be {kind}, got {_shown(table[column].iloc[row])}",
            fix,
            column,
            int(row) + 1,
        )
        for row in np.flatnonzero(bad)[:_MAX_LISTED]
    ]


def forecast_problems(
    frame: pd.DataFrame, region_ids: Sequence[str] | None, source: str = "forecast"
) -> list[InputProblem]:
    """Every way ``frame`` breaks the forecast-table contract (regions checked when given)."""
    missing = [c for c in _REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return [
            InputProblem(
                source,
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                f"give every column of the forecast table: {', '.join(_REQUIRED_COLUMNS)} "
                "(and category, when there are several)",
            )
        ]
    if frame.empty:
        return [InputProblem(source, "the forecast table is empty", "forecast some periods")]
    problems: list[InputProblem] = []
    rows = np.arange(1, len(frame) + 1)
    known = set(frame["region_id"].astype(str) if region_ids is None else region_ids)
    unknown = ~frame["region_id"].astype(str).isin(known).to_numpy()
    for row in rows[unknown][:_MAX_LISTED]:
        region = frame["region_id"].iloc[row - 1]
        problems.append(
            InputProblem(
                source,
                f"unknown region {_shown(region)}",
                "forecast only regions of the regions file",
                "region_id",
                int(row),
            )
        )
    kappa = pd.to_numeric(frame["detection_rate"], errors="coerce")
    if kappa.isna().all():
        # One message, not one per row: the forecast is of counts (a panel without effort).
        problems.append(
            InputProblem(
                source,
                "the forecast has no detection rate: it forecasts observed counts (its model "
                "was trained on a panel without effort), not activity, and cannot say how "
                "patrol effort finds incidents",
                "train on a panel with reported, detected and effort, or give a forecast "
                "table whose detection_rate column is filled in",
                "detection_rate",
            )
        )
    for column in _VALUE_COLUMNS if not kappa.isna().all() else _VALUE_COLUMNS[:-1]:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        for row in rows[bad][:_MAX_LISTED]:
            problems.append(
                InputProblem(
                    source,
                    f"must be a finite number ≥ 0, got {_shown(frame[column].iloc[row - 1])}",
                    "give non-negative numbers",
                    column,
                    int(row),
                )
            )
    if not kappa.isna().all():
        for row in rows[(kappa > MAX_DETECTION_RATE).to_numpy()][:_MAX_LISTED]:
            problems.append(
                InputProblem(
                    source,
                    f"detection rate {_shown(frame['detection_rate'].iloc[row - 1])} above "
                    f"{MAX_DETECTION_RATE:g}",
                    f"give a detection rate of at most {MAX_DETECTION_RATE:g} (κ per shift)",
                    "detection_rate",
                    int(row),
                )
            )
    q = frame[["activity_q10", "activity_q50", "activity_q90"]].apply(
        pd.to_numeric, errors="coerce"
    )
    valid = ((q >= 0) & np.isfinite(q)).all(axis=1)  # other rows are reported above
    crossed = (
        valid & ((q["activity_q10"] > q["activity_q50"]) | (q["activity_q50"] > q["activity_q90"]))
    ).to_numpy()
    for row in rows[crossed][:_MAX_LISTED]:
        problems.append(
            InputProblem(
                source,
                "quantiles out of order: activity_q10 ≤ activity_q50 ≤ activity_q90 must hold",
                "give the 10%, 50% and 90% quantiles in that order",
                row=int(row),
            )
        )
    periods = pd.to_datetime(frame["period"], errors="coerce", format="ISO8601")
    for row in rows[periods.isna().to_numpy()][:_MAX_LISTED]:
        problems.append(
            InputProblem(
                source,
                f"not a date: {_shown(frame['period'].iloc[row - 1])}",
                "give the period start as a date (YYYY-MM-DD)",
                "period",
                int(row),
            )
        )
    keys = ["region_id", "period"] + (["category"] if "category" in frame.columns else [])
    duplicated = frame.duplicated(subset=keys, keep="first").to_numpy()
    for row in rows[duplicated][:_MAX_LISTED]:
        problems.append(
            InputProblem(
                source,
                f"duplicate row for the same ({', '.join(keys)})",
                "give one row per region, category and period",
                row=int(row),
            )
        )
    return problems


def _shown(value: object) -> str:
    """A cell as the user wrote it (numpy scalars as plain numbers)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)
