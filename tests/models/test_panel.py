"""Dense panel arrays: frequency inference, missing cells, unknown regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossplan.models.panel import infer_frequency, to_arrays
from crossplan.optimize.periods import future_periods


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        (pd.date_range("2024-01-01", periods=5, freq="7D"), "weekly"),  # Mondays
        (pd.date_range("2024-01-01", periods=5, freq="MS"), "monthly"),  # month starts
        (pd.date_range("2000-01-01", periods=3, freq="YS"), "yearly"),  # incl. a leap year
    ],
)
def test_infer_frequency(periods: pd.DatetimeIndex, expected: str) -> None:
    assert infer_frequency(periods) == expected


def test_infer_frequency_rejects_daily() -> None:
    with pytest.raises(ValueError, match="no frequency"):
        infer_frequency(pd.date_range("2024-01-01", periods=3, freq="D"))


def test_future_periods_follow_the_calendar() -> None:
    got = future_periods(pd.Timestamp("2024-01-01"), "monthly", 2)
    assert list(got) == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01")]


def _panel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_id": ["a", "a", "b"],
            "period": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-01-01"]),
            "category": ["x", "x", "x"],
            "count": [1, 2, 3],
        }
    )


def test_missing_rows_and_periods_stay_missing() -> None:
    data = to_arrays(_panel())
    assert data.shape == (1, 2, 3)  # the week of 2024-01-08 has no row at all
    assert np.isnan(data.total[0, 0, 1]) and np.isnan(data.total[0, 1, 2])
    assert data.total[0, 0, 2] == 2 and not data.has_effort


def test_unknown_region_is_an_error() -> None:
    with pytest.raises(ValueError, match="not known"):
        to_arrays(_panel(), regions=np.array(["a"], dtype=object))
