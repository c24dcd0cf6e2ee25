"""Forecast metrics against hand-computed values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crossplan.pipelines.metrics import (
    CALIBRATION_LEVELS,
    calibration_by_level,
    capture,
    coverage,
    interval_score,
    interval_width,
    mae,
    pai,
    pinball,
    pit_coverage,
    poisson_deviance,
    score,
    spearman,
)


@pytest.mark.parametrize(
    ("y", "mu", "expected"),
    [
        ([2.0], [2.0], 0.0),  # perfect forecast
        ([0.0], [1.0], 2.0),  # y = 0: deviance is 2 * mu
        ([3.0], [0.0], 2 * (3 * math.log(3 / 0.1) - 2.9)),  # a confident zero is floored at 0.1
    ],
)
def test_poisson_deviance(y: list[float], mu: list[float], expected: float) -> None:
    assert poisson_deviance(np.array(y), np.array(mu)) == pytest.approx(expected)


def test_mae_coverage_width() -> None:
    y, lo, hi = np.array([1.0, 5.0, 3.0, 0.0]), np.array([0, 0, 3, 1.0]), np.array([2, 4, 3, 2.0])
    assert mae(y, np.array([1.0, 4.0, 3.0, 2.0])) == 0.75
    assert coverage(y, lo, hi) == 0.5  # 1 and 3 inside (ends count), 5 above, 0 below
    assert interval_width(lo, hi) == 1.75


def test_pai_of_a_perfect_hotspot() -> None:
    # Ten equal regions; all incidents in the one predicted highest: PAI = 1 / 0.1 = 10.
    y = np.array([10.0] + [0.0] * 9)
    mu = np.array([5.0] + [1.0] * 9)
    assert pai(y, mu, np.ones(10)) == pytest.approx(10.0)
    assert pai(y, mu[::-1], np.ones(10)) == 0.0  # the wrong hotspot


def test_spearman_is_nan_for_constant_forecasts() -> None:
    assert math.isnan(spearman(np.array([1.0, 2.0, 3.0]), np.ones(3)))
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])) == 1.0


def test_interval_score_pinball_and_capture() -> None:
    y, lo, hi = np.array([1.0, 5.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([2.0, 4.0, 2.0])
    # widths 2, 4, 1; 5 is 1 above, 0 is 1 below: each miss costs 2 / 0.2 = 10 per unit
    assert interval_score(y, lo, hi) == pytest.approx((2 + 4 + 1 + 10 + 10) / 3)
    assert pinball(np.array([3.0, 1.0]), np.array([2.0, 2.0]), 0.9) == pytest.approx(
        (0.9 * 1 + 0.1 * 1) / 2
    )
    truth = np.arange(10.0)
    assert capture(truth, truth) == 1.0  # the top cell is the true top
    assert capture(truth, -truth) == 0.0  # the bottom cell instead
    assert math.isnan(capture(np.zeros(5), np.ones(5)))


@pytest.mark.parametrize(
    "dist",
    [
        stats.poisson(0.3),  # mean 0.3: three cells in four are zero
        stats.poisson(0.05),  # nearly all zeros
        stats.nbinom(0.5, 0.5 / (0.5 + 0.4)),  # negative binomial, mean 0.4, dispersion 2
        stats.poisson(1.2),
    ],
)
def test_a_calibrated_count_forecast_has_count_aware_coverage_080(dist: Any) -> None:
    """The true distribution as the forecast: plain coverage is far above 0.80, the
    count-aware coverage is 0.80 whatever the sparsity (as are its tails, 0.10 each)."""
    y = dist.rvs(size=40_000, random_state=np.random.default_rng(3)).astype(float)
    q10, q90 = np.full(y.size, dist.ppf(0.1)), np.full(y.size, dist.ppf(0.9))
    assert coverage(y, q10, q90) > 0.85
    frame = pd.DataFrame({
        "origin": 0, "horizon": 1, "category": "all", "area_km2": 1.0, "actual": y,
        "prediction": dist.mean(), "q10": q10, "q90": q90,
        "pit_lo": dist.cdf(y - 1), "pit_hi": dist.cdf(y),
    })  # fmt: skip
    out = score(frame, "observed")
    assert out["coverage80"] > 0.85
    assert out["pit_coverage80"] == pytest.approx(0.80, abs=0.01)
    assert out["pit_below_q10"] == pytest.approx(0.10, abs=0.01)
    assert out["pit_above_q90"] == pytest.approx(0.10, abs=0.01)
    assert out["pit_coverage50"] == pytest.approx(0.50, abs=0.01)
    assert pit_coverage(frame["pit_lo"], frame["pit_hi"], 0.9) == pytest.approx(0.90, abs=0.01)
    # The calibration table logged with each run follows the diagonal at every level; the
    # plain coverage is given at 80% only, the one interval a row carries.
    table = calibration_by_level(frame.assign(model="true"))
    assert list(table["level"]) == list(CALIBRATION_LEVELS)
    assert table["pit_coverage"].to_numpy() == pytest.approx(table["level"].to_numpy(), abs=0.01)
    assert table.dropna(subset=["coverage"])["coverage"].tolist() == [out["coverage80"]]


def test_count_aware_coverage_splits_an_outcome_on_an_end() -> None:
    # One outcome whose PIT lies uniformly in [0.0, 0.5]: a fifth of it is below 0.1.
    assert pit_coverage(np.array([0.0]), np.array([0.5])) == pytest.approx(0.8)
    # A PIT wholly above 0.9 is outside; a point PIT inside is inside.
    assert pit_coverage(np.array([0.95, 0.5]), np.array([1.0, 0.5])) == pytest.approx(0.5)
