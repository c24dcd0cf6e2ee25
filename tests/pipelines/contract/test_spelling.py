"""Did you mean: a misspelt column or covariate names the one meant, as a category does."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

from crossplan.pipelines.contract import spelling
from crossplan.pipelines.contract.incidents import check_incidents
from crossplan.pipelines.errors import DataValidationError

_ROW = {"region_id": "r1", "period": "2024-01-01", "reported": "1", "detected": "2",
        "effort": "3"}  # fmt: skip


def test_docstring_examples_run() -> None:
    assert doctest.testmod(spelling).failed == 0


@pytest.mark.parametrize(
    ("column", "meant"),
    [
        ("sourse", "source"),  # a letter swapped
        ("Category", "category"),  # another case
        ("cov-rain", None),  # no known column is like it (a covariate takes 'cov_')
        ("notes", None),  # nothing like it: no guess
    ],
)
def test_an_unknown_column_names_the_known_one_it_is_a_spelling_of(
    column: str, meant: str | None
) -> None:
    raw = pd.DataFrame([{**_ROW, column: "x"}])
    with pytest.raises(DataValidationError) as err:
        check_incidents(raw, "week.csv", lambda i: i + 2)
    (problem,) = [p for p in err.value.problems if p.column == column]
    if meant is None:
        assert problem.message == f"unknown column '{column}'"
    else:
        assert problem.message.endswith(f"did you mean '{meant}'?")
        assert problem.fix.startswith(f"rename it '{meant}'")


def test_a_missing_column_is_named_by_its_misspelling() -> None:
    raw = pd.DataFrame([{k if k != "reported" else "reportd": v for k, v in _ROW.items()}])
    with pytest.raises(DataValidationError) as err:
        check_incidents(raw, "week.csv", lambda i: i + 2)
    assert "unknown column 'reportd' — did you mean 'reported'?" in str(err.value)
