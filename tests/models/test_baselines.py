"""Baselines give the values their rules say, on a hand-made count panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossplan.models import LastValue, MovingAverage, PanelForecaster, PoissonGLM, SeasonalNaive


def _panel(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_id": "a",
            "period": pd.date_range("2023-01-02", periods=len(values), freq="7D"),
            "category": "x",
            "count": values,
        }
    )


VALUES = [float(v % 7) for v in range(60)]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (LastValue(horizon=2), [VALUES[-1]] * 2),  # the last value, for every horizon
        (SeasonalNaive(horizon=2), [VALUES[-52], VALUES[-51]]),  # one year before each target
        (MovingAverage(horizon=2, window=4), [np.mean(VALUES[-4:])] * 2),  # mean of last 4
    ],
)
def test_rule_baselines(model: PanelForecaster, expected: list[float]) -> None:
    forecast = model.fit(_panel(VALUES)).predict(_panel(VALUES))
    np.testing.assert_allclose(forecast["activity_mean"], expected)
    assert model.target_ == "counts" and forecast["detection_rate"].isna().all()


@pytest.mark.parametrize(
    "n",
    [
        20,  # under half a year
        30,  # over half a year: a naive slice a year back would be misaligned
        45,  # close to a year
        51,  # one period short of a year before the target
    ],
)
def test_seasonal_naive_without_a_year_of_history_falls_back_to_last_value(n: int) -> None:
    values = VALUES[:n]
    forecast = SeasonalNaive(horizon=1).fit(_panel(values)).predict(_panel(values))
    assert forecast["activity_mean"].iloc[0] == values[-1]


def test_poisson_glm_learns_a_constant_rate() -> None:
    rng = np.random.default_rng(1)
    panel = pd.concat(
        [_panel(rng.poisson(5.0, 80).astype(float).tolist()).assign(region_id=r) for r in "abcdef"]
    )
    forecast = PoissonGLM(horizon=1).fit(panel).predict(panel)
    np.testing.assert_allclose(forecast["activity_mean"], 5.0, rtol=0.2)
