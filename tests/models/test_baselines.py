"""Baselines give the values their rules say, on a hand-made count panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossplan.models import LastValue, MovingAverage, PanelForecaster, PoissonGLM, SeasonalNaive
from crossplan.models.features import feature_spec, recent_change_features


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


def _sparse_panel(seed: int = 4, regions: int = 12, periods: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.concat(
        _panel(rng.poisson(0.4, periods).astype(float).tolist()).assign(region_id=f"r{r}")
        for r in range(regions)
    )


def test_a_smooth_glm_sees_where_a_cell_stands_not_how_it_moved_lately() -> None:
    panel = _sparse_panel()
    change = recent_change_features(feature_spec("weekly"))
    smooth = PoissonGLM(horizon=1).fit(panel)
    assert not set(smooth.feature_names_) & change
    every = PoissonGLM(horizon=1, smooth=False).fit(panel)
    assert change <= set(every.feature_names_)

    # The three weeks before the last, in another order: of the features at the last
    # origin only the lags before the last move (the last value, the rolling means, the
    # trend and growth of 4-week means and the share of zeros stay).
    last = panel["period"].max()
    earlier = (panel["period"] > last - pd.Timedelta(weeks=4)) & (panel["period"] < last)
    counts = panel["count"].to_numpy().copy()
    for region in panel["region_id"].unique():
        rows = np.flatnonzero(earlier.to_numpy() & (panel["region_id"] == region).to_numpy())
        counts[rows] = counts[rows[[2, 0, 1]]]
    shuffled = panel.assign(count=counts)
    assert not shuffled["count"].equals(panel["count"])
    np.testing.assert_allclose(
        smooth.predict(shuffled)["activity_mean"], smooth.predict(panel)["activity_mean"]
    )
    moved = np.abs(every.predict(shuffled)["activity_mean"] - every.predict(panel)["activity_mean"])
    assert moved.max() > 1e-4


def test_a_glm_saved_before_smooth_existed_still_uses_every_feature() -> None:
    panel = _sparse_panel()
    every = PoissonGLM(horizon=1, smooth=False).fit(panel)
    state = dict(every.__getstate__())
    del state["smooth"]  # as pickled before the option
    loaded = PoissonGLM.__new__(PoissonGLM)
    loaded.__setstate__(state)
    assert loaded.get_params()["smooth"] is False
    pd.testing.assert_frame_equal(loaded.predict(panel), every.predict(panel))
