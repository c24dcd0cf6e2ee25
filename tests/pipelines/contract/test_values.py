"""Values the models and the database cannot hold are refused where they are, in every file
the contract reads (``crossplan validate``, imports and submissions alike)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from crossplan.pipelines.contract.incidents import check_incidents
from crossplan.pipelines.contract.values import MAX_COUNT, MAX_MAGNITUDE
from crossplan.pipelines.errors import DataValidationError

_ROW = {"region_id": "r1", "period": "2024-01-01", "category": "all", "reported": 3,
        "detected": 2, "effort": 4.0, "cov_x": 0.5}  # fmt: skip


def _check(**change: Any) -> None:
    rows = [_ROW, {**_ROW, "period": "2024-01-08", **change}]
    check_incidents(pd.DataFrame(rows).astype(object), "f.csv", lambda i: i + 2)


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"reported": MAX_COUNT + 1}, "reported", "more than 1,000,000,000 incidents"),
        ({"detected": 99999999999999999999}, "detected", "more than 1,000,000,000 incidents"),
        ({"effort": 1e39}, "effort", "too large for the models"),
        ({"cov_x": -1e39}, "cov_x", "too large for the models"),
        ({"cov_x": float("inf")}, "cov_x", "not a finite number"),
    ],
)
def test_values_beyond_what_the_models_hold_are_refused_where_they_are(
    change: dict[str, Any], column: str, message: str
) -> None:
    with pytest.raises(DataValidationError) as err:
        _check(**change)
    (problem,) = err.value.problems
    assert (problem.row, problem.column) == (3, column)
    assert message in problem.message and problem.fix


def test_the_largest_values_the_models_hold_are_accepted() -> None:
    _check(reported=MAX_COUNT, effort=MAX_MAGNITUDE, cov_x=-MAX_MAGNITUDE)
