"""Reading a forecast table from a file (CSV or Parquet): ``crossplan plan --forecast`` and a
service's ``CROSSPLAN_FORECAST_FILE`` read it the same way, with the same errors.

The columns are the forecast table's (:data:`optimize.forecast.FORECAST_COLUMNS`); their
values are checked where the table is used (:func:`optimize.forecast.forecast_problems`),
once each period is a date or text that may spell one (:func:`period_problems`), which every
door checks first: a JSON number, object or list, or a Parquet struct, is no cell that check
can read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from crossplan.optimize.errors import InputProblem
from crossplan.pipelines.errors import ConfigurationError, DataValidationError, Problem

__all__ = ["period_problems", "read_forecast_table"]

# Problems listed at most, of one kind (as the table's own check lists them).
_MAX_LISTED = 20


def period_problems(table: pd.DataFrame, source: str = "forecast") -> list[InputProblem]:
    """A problem for each of the first rows whose period is neither a date nor text.

    A missing period is left to the table's check (it says "not a date"), as is text that
    spells no date.
    """
    if "period" not in table.columns or pd.api.types.is_datetime64_any_dtype(table["period"]):
        return []
    periods = table["period"]
    readable = periods.map(lambda v: v is None or isinstance(v, str | dt.date | np.datetime64))
    readable |= periods.isna().to_numpy()  # NaN, NaT, pd.NA
    return [
        InputProblem(
            source,
            f"must be a date (YYYY-MM-DD), got {_shown(periods.iloc[row])}",
            'give the period start as a date, e.g. "2026-03-02"',
            "period",
            int(row) + 1,
        )
        for row in np.flatnonzero(~readable.to_numpy(dtype=bool))[:_MAX_LISTED]
    ]


def _shown(value: object) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 60 else text[:59] + "…"


def read_forecast_table(path: Path) -> pd.DataFrame:
    """The table in ``path``.

    Raises
    ------
    ConfigurationError
        No such file, or not a ``.csv`` or ``.parquet`` file.
    DataValidationError
        The file cannot be parsed, or a period is neither a date nor text.
    """
    if not path.exists():
        raise ConfigurationError(f"forecast file not found: {path} — fix: check the path")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigurationError(f"cannot read {path.name}: give a .csv or .parquet forecast file")
    try:
        table = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as err:  # any parser error means the same to the user
        raise DataValidationError(
            [
                Problem(
                    path.name,
                    f"cannot read the file ({type(err).__name__}: {err})",
                    "give a CSV or Parquet table with the forecast columns",
                )
            ]
        ) from None
    problems = period_problems(table, path.name)
    if problems:
        raise DataValidationError(
            [Problem(path.name, p.message, p.fix, p.row, p.field) for p in problems]
        )
    return table
