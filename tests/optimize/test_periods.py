"""The calendar of periods: which dates start a period, and how periods are stepped."""

from __future__ import annotations

import pandas as pd
import pytest

from crossplan.optimize.periods import (
    FREQUENCIES,
    fits_frequency,
    frequency_of,
    future_periods,
    pandas_freq,
    period_offset,
    period_range,
    period_start,
    periods_per_year,
    season_length,
)

_FIRST = {"weekly": "2025-01-06", "monthly": "2025-01-01", "yearly": "2025-01-01"}


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2025-01-06", "2025-01-13"], "weekly"),  # Mondays
        (["2024-01-01", "2024-02-01"], "monthly"),  # firsts, one of them a Monday
        (["2015-01-01", "2018-01-01"], "yearly"),  # 1 January, years missing
        (["2025-01-06", "2025-01-07"], None),  # a Tuesday: no frequency fits
        (["2025-01-06 10:00"], None),  # a Monday, but not at midnight
    ],
)
def test_the_coarsest_frequency_every_date_starts(dates: list[str], expected: str | None) -> None:
    assert frequency_of(pd.to_datetime(dates)) == expected


@pytest.mark.parametrize("frequency", FREQUENCIES)
def test_the_helpers_agree_on_one_calendar(frequency: str) -> None:
    # pandas' alias, the offset and the range all step the same periods, each a period start
    dates = pd.date_range(_FIRST[frequency], periods=4, freq=pandas_freq(frequency))
    assert fits_frequency(pd.Series(dates), frequency).all()
    assert frequency_of(dates) == frequency
    assert period_range(dates[0], dates[-1], frequency).equals(dates)
    assert future_periods(dates[0], frequency, 3).equals(dates[1:])
    assert dates[0] + period_offset(frequency, 3) == dates[-1]
    # any day inside a period belongs to the period that starts it
    assert period_start(dates[1] + pd.Timedelta(days=5), frequency) == dates[1]


@pytest.mark.parametrize(
    ("frequency", "season", "per_year"),
    [("weekly", 52, 52.18), ("monthly", 12, 12.0), ("yearly", 1, 1.0)],
)
def test_seasons_and_years(frequency: str, season: int, per_year: float) -> None:
    assert season_length(frequency) == season
    assert periods_per_year(frequency) == pytest.approx(per_year, abs=0.01)
