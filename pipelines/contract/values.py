"""What a count, an effort and a covariate may hold, beyond being a number.

Counts are whole, not negative, and at most :data:`MAX_COUNT`; effort is not negative; effort
and covariates are finite and stay finite in float32 (:data:`MAX_MAGNITUDE`), where the
models compute. A value past these would be stored and then stop every forecast.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from crossplan.pipelines.contract._problems import problems_from_failures
from crossplan.pipelines.errors import Problem

__all__ = ["MAX_COUNT", "MAX_MAGNITUDE", "value_problems"]

#: The largest count one row may hold: incidents of one region, period and category. Far
#: below int64's limit, so every count fits the database and every sum the model makes.
MAX_COUNT = 10**9
#: The largest magnitude effort and covariates may have: the models compute in float32,
#: where a larger (float64) value is infinite.
MAX_MAGNITUDE = float(np.finfo(np.float32).max)
_MESSAGES = {
    "non_negative": ("negative value {value}", "counts and effort are never negative"),
    "integer": ("count {value} is not a whole number", "counts are whole numbers of incidents"),
    "finite": (
        "value {value} is not a finite number",
        "use a number, or leave the cell empty if unknown",
    ),
    "text": ("value {value!r} is not text", "use a text value"),
    "at_most_max_count": (
        f"count {{value}} is more than {MAX_COUNT:,} incidents",
        "a count is the incidents of one region, period and category: correct the value",
    ),
    "representable": (
        "value {value} is too large for the models (beyond ±3.4e38, infinite in float32)",
        "correct the value, or rescale the column (e.g. thousands instead of units)",
    ),
}


def value_problems(
    frame: pd.DataFrame, file: str, row_of: Callable[[int], int | str]
) -> list[Problem]:
    """Counts, effort and covariates (already numbers) outside what they may hold, each
    located."""
    columns: dict[str, pa.Column] = {}
    for column in ("reported", "detected", "count"):
        if column in frame.columns:
            columns[column] = pa.Column(
                "float64",
                nullable=True,
                checks=[
                    pa.Check(lambda s: s >= 0, name="non_negative"),
                    pa.Check(lambda s: (s - s.round()).abs() < 1e-9, name="integer"),
                    pa.Check(lambda s: s <= MAX_COUNT, name="at_most_max_count"),
                ],
            )
    if "effort" in frame.columns:
        columns["effort"] = pa.Column(
            "float64",
            nullable=True,
            checks=[
                pa.Check(lambda s: s >= 0, name="non_negative"),
                pa.Check(lambda s: s.abs() < np.inf, name="finite"),
                _representable(),
            ],
        )
    for cov in (c for c in frame.columns if str(c).startswith("cov_")):
        columns[cov] = pa.Column(
            "float64",
            nullable=True,
            checks=[pa.Check(lambda s: s.abs() < np.inf, name="finite"), _representable()],
        )
    try:
        pa.DataFrameSchema(columns).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        return problems_from_failures(err.failure_cases, file, row_of, _MESSAGES)
    return []


def _representable() -> pa.Check:
    """Finite values that stay finite in float32 (infinities are the 'finite' check's)."""
    return pa.Check(lambda s: (s.abs() <= MAX_MAGNITUDE) | ~np.isfinite(s), name="representable")
