"""Frequency: inferred from how period dates are aligned; every date that breaks it located."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from crossplan.pipelines.contract.frequency import infer_frequency


def _rows(i: int) -> int:
    return i + 2  # CSV lines: the header is line 1


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        # Mondays
        (pd.date_range("2025-01-06", periods=5, freq="W-MON"), "weekly"),
        # firsts of months, one of them a Monday
        (pd.date_range("2024-01-01", periods=14, freq="MS"), "monthly"),
        # 1 January of each year, with a year missing: still yearly
        (pd.DatetimeIndex(["2015-01-01", "2016-01-01", "2018-01-01"]), "yearly"),
    ],
)
def test_the_coarsest_frequency_every_date_fits(dates: pd.DatetimeIndex, expected: str) -> None:
    freq, problems = infer_frequency(pd.Series(dates), "incidents.csv", _rows)
    assert (freq, problems) == (expected, [])


@pytest.mark.parametrize(
    ("dates", "row", "message"),
    [
        # a Tuesday among Mondays
        (["2025-01-06", "2025-01-13", "2025-01-21"], 4, "misaligned period"),
        # the first of a month among Mondays that are not
        (["2025-01-06", "2025-01-13", "2025-02-01"], 4, "mixed frequencies"),
        # a time of day
        (["2025-01-06", "2025-01-13", "2025-01-20 10:00"], 4, "has a time of day"),
    ],
)
def test_dates_that_break_the_frequency_are_located(
    dates: list[str], row: int, message: str
) -> None:
    periods = pd.Series(pd.to_datetime(dates, format="ISO8601"))
    freq, problems = infer_frequency(periods, "incidents.csv", _rows)
    assert freq == "weekly"
    assert [(p.row, p.column) for p in problems] == [(row, "period")]
    assert message in problems[0].message


def test_the_contract_reads_frequencies_without_the_models() -> None:
    # The rules are optimize.periods': checking a panel loads no learning library.
    code = (
        "import sys, crossplan.pipelines.contract; "
        "sys.exit(bool({'sklearn', 'lightgbm', 'crossplan.models'} & set(sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
