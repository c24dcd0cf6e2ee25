"""Reading a forecast table from a file (CSV or Parquet): ``crossplan plan --forecast`` and a
service's ``CROSSPLAN_FORECAST_FILE`` read it the same way, with the same errors.

The columns are the forecast table's (:data:`optimize.forecast.FORECAST_COLUMNS`); their
values are checked where the table is used (:func:`optimize.forecast.forecast_problems`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.errors import ConfigurationError, DataValidationError, Problem

__all__ = ["read_forecast_table"]


def read_forecast_table(path: Path) -> pd.DataFrame:
    """The table in ``path``.

    Raises
    ------
    ConfigurationError
        No such file, or not a ``.csv`` or ``.parquet`` file.
    DataValidationError
        The file cannot be parsed.
    """
    if not path.exists():
        raise ConfigurationError(f"forecast file not found: {path} — fix: check the path")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigurationError(f"cannot read {path.name}: give a .csv or .parquet forecast file")
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
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
