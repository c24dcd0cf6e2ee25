"""Count intervals: calibrated on held-out data, they cover about 80% of new outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from crossplan.models.intervals import CountIntervals


def _draws(mean: np.ndarray, phi: float, rng: np.random.Generator) -> np.ndarray:
    shape = 1 / phi
    return rng.poisson(rng.gamma(shape, mean / shape))


@pytest.mark.parametrize(
    ("fit_range", "new_range"),
    [
        ((0.2, 1.5), (0.2, 1.5)),  # mostly zeros and ones: nominal 10/90% levels over-cover
        ((2.0, 30.0), (2.0, 30.0)),  # larger counts
        ((0.2, 3.0), (1.0, 9.0)),  # larger means than calibrated on, as activity forecasts are
    ],
)
def test_calibrated_intervals_cover_80_percent(
    fit_range: tuple[float, float], new_range: tuple[float, float]
) -> None:
    rng = np.random.default_rng(0)
    mean = rng.uniform(*fit_range, 20_000)
    horizon = rng.integers(1, 3, mean.size)
    model = CountIntervals().fit(_draws(mean, 0.3, rng), mean, horizon)
    assert model.dispersion_[1] == pytest.approx(0.3, abs=0.08)
    fresh = rng.uniform(*new_range, 20_000)
    y = _draws(fresh, 0.3, rng)
    q = model.quantiles(fresh, horizon)
    covered = np.mean((y >= q["q10"]) & (y <= q["q90"]))
    assert 0.75 <= covered <= 0.85
    assert np.all(q["q10"] <= q["q50"]) and np.all(q["q50"] <= q["q90"])


def test_without_calibration_data_intervals_are_poisson() -> None:
    model = CountIntervals().fit(np.empty(0), np.empty(0), np.empty(0, int))
    q = model.quantiles(np.array([10.0]), np.array([1]))
    assert (q["q10"][0], q["q90"][0]) == (6.0, 14.0)  # Poisson(10) 10% and 90% quantiles
