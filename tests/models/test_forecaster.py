"""The LightGBM forecaster: every kind of panel, the estimator contract, effort awareness."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crossplan.models import RiskForecaster, generate_panel
from crossplan.optimize.forecast import FORECAST_COLUMNS

FAST: dict[str, Any] = {"n_estimators": 40}


@pytest.mark.parametrize(
    ("frequency", "periods", "with_effort", "horizon"),
    [
        ("weekly", 104, True, 4),  # the usual panel
        ("weekly", 60, False, 2),  # count-only: forecasts counts
        ("monthly", 36, True, 3),  # seasons of 12
        ("yearly", 12, False, 1),  # no seasons, few periods
        ("weekly", 10, True, 1),  # about ten periods
    ],
)
def test_forecasts_any_panel(frequency: str, periods: int, with_effort: bool, horizon: int) -> None:
    world = generate_panel(
        n_regions=9, n_periods=periods, frequency=frequency, with_effort=with_effort, seed=1
    )
    model = RiskForecaster(horizon=horizon, **FAST)
    forecast = model.fit(world.panel, world.regions, world.adjacency).predict(world.panel)
    assert list(forecast.columns) == list(FORECAST_COLUMNS)
    assert len(forecast) == 9 * 2 * horizon
    assert forecast["period"].min() > world.panel["period"].max()
    values = forecast[["activity_mean", "activity_q10", "activity_q50", "activity_q90"]]
    assert np.isfinite(values.to_numpy()).all() and (values.to_numpy() >= 0).all()
    assert (forecast["activity_q10"] <= forecast["activity_q90"]).all()
    assert model.target_ == ("activity" if with_effort else "counts")
    assert forecast["detection_rate"].notna().all() == with_effort


def test_many_zero_cells() -> None:
    world = generate_panel(n_regions=9, n_periods=60, seed=2)
    panel = world.panel.copy()
    sparse = panel["region_id"].isin(["r0000", "r0001", "r0002", "r0003", "r0004"])
    panel.loc[sparse, ["reported", "detected"]] = 0
    forecast = RiskForecaster(horizon=2, **FAST).fit(panel).predict(panel)
    zero = forecast[forecast["region_id"].isin(["r0000", "r0001"])]["activity_mean"]
    busy = forecast[forecast["region_id"] == "r0008"]["activity_mean"]
    assert zero.max() < busy.min()


def test_estimator_contract() -> None:
    model = RiskForecaster(effort_aware=False, horizon=3, random_state=5)
    assert clone(model).get_params() == model.get_params()
    assert not [k for k in vars(model) if k.endswith("_")]  # __init__ only stores params
    world = generate_panel(n_regions=4, n_periods=30, seed=0)
    assert model.set_params(**FAST).fit(world.panel) is model
    assert model.detection_summary()["target"] == "counts"


def test_same_seed_same_forecast() -> None:
    world = generate_panel(n_regions=6, n_periods=40, seed=0)
    a = RiskForecaster(horizon=2, random_state=3, **FAST).fit(world.panel).predict(world.panel)
    b = RiskForecaster(horizon=2, random_state=3, **FAST).fit(world.panel).predict(world.panel)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("fit_horizon", "ask"),
    [
        (0, None),  # no horizon to forecast
        (2, 3),  # beyond what was fitted
    ],
)
def test_bad_horizons(fit_horizon: int, ask: int | None) -> None:
    world = generate_panel(n_regions=4, n_periods=30, seed=0)
    with pytest.raises(ValueError, match="horizon"):
        RiskForecaster(horizon=fit_horizon, **FAST).fit(world.panel).predict(world.panel, ask)


def test_unknown_region_at_predict() -> None:
    world = generate_panel(n_regions=4, n_periods=30, seed=0)
    model = RiskForecaster(horizon=1, **FAST).fit(world.panel)
    with pytest.raises(ValueError, match="not known"):
        model.predict(world.panel.assign(region_id="elsewhere"))


def _truth_scores(aware: bool) -> tuple[float, float]:
    world = generate_panel(n_regions=36, n_periods=104, countries=3, seed=6)
    last = world.panel["period"].max()
    history = world.panel[world.panel["period"] < last]
    model = RiskForecaster(effort_aware=aware, horizon=1, random_state=0)
    forecast = model.fit(history, world.regions, world.adjacency).predict(history)
    truth = world.truth[world.truth["period"] == last]
    both = truth.merge(forecast, on=["region_id", "category", "period"])
    y, mu = both["activity_rate"].to_numpy(), np.maximum(both["activity_mean"].to_numpy(), 0.1)
    deviance = float(np.mean(2 * (y * np.log(y / mu) - (y - mu))))
    rank = both.groupby("category")[["activity_rate", "activity_mean"]].corr("spearman")
    return deviance, float(rank.xs("activity_mean", level=1)["activity_rate"].mean())


def test_effort_awareness_forecasts_activity_better_than_counts() -> None:
    aware_dev, aware_rank = _truth_scores(aware=True)
    naive_dev, naive_rank = _truth_scores(aware=False)
    assert aware_dev < 0.7 * naive_dev
    assert aware_rank > naive_rank


def _growing_panel(seed: int = 0) -> pd.DataFrame:
    """Yearly counts: small quiet cells and one cell growing 30% a year to thousands."""
    rng = np.random.default_rng(seed)
    years = pd.date_range("1990-01-01", periods=30, freq="YS")
    rows = []
    for r in range(12):
        base = 2000.0 * 1.3 ** np.arange(-29, 1) if r == 0 else np.full(30, 0.5 + r)
        rows += [
            {"region_id": f"r{r:02d}", "period": p, "category": "all", "count": int(c)}
            for p, c in zip(years, rng.poisson(base), strict=True)
        ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("relative", "beyond"),
    [
        (True, True),  # learns the ratio to the recent level: follows the cell past its maximum
        (False, False),  # absolute: a tree cannot forecast above the largest value it has seen
    ],
)
def test_level_relative_forecasts_leave_the_training_range(relative: bool, beyond: bool) -> None:
    panel = _growing_panel()
    model = RiskForecaster(horizon=1, relative=relative, calibration_periods=0, **FAST)
    forecast = model.fit(panel).predict(panel)
    big = float(forecast.loc[forecast["region_id"] == "r00", "activity_mean"].iloc[0])
    largest = float(panel["count"].max())
    assert (big > largest) == beyond
    small = forecast.loc[forecast["region_id"] != "r00", "activity_mean"]
    assert small.max() < 30  # quiet cells stay at their own scale


@pytest.mark.parametrize(
    ("shifts", "wide"),
    [
        # κ·effort about 1 (κ is 0.06-0.14, as in the world): the rates are pinned down
        (10.0, False),
        (0.05, True),  # kappa * effort << 1 everywhere: hardly identifiable, and it shows
    ],
)
def test_detection_intervals_show_what_effort_can_identify(shifts: float, wide: bool) -> None:
    world = generate_panel(n_regions=36, n_periods=104, shifts_per_region=shifts, seed=5)
    model = RiskForecaster(horizon=1, detection_bootstrap=20, **FAST)
    summary = model.fit(world.panel, world.regions).detection_summary()
    widths = [hi - lo for lo, hi in summary["intervals90"]["reporting_rate"].values()]
    assert set(summary["intervals90"]["reporting_rate"]) == set(world.reporting_rate)
    assert (min(widths) > 0.5) if wide else (max(widths) < 0.1)
