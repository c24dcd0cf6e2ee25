"""Count intervals: calibrated on held-out data, they cover about 80% of new outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from crossplan.models.intervals import CountIntervals, pit_share_above, pit_share_below


def _draws(mean: np.ndarray, phi: float, rng: np.random.Generator) -> np.ndarray:
    shape = 1 / phi
    return rng.poisson(rng.gamma(shape, mean / shape))


@pytest.mark.parametrize(
    ("fit_range", "new_range", "plain"),
    [
        ((0.05, 0.6), (0.05, 0.6), (0.9, 1.0)),  # nearly all zeros: [q10, q90] holds ~95%
        ((0.2, 1.5), (0.2, 1.5), (0.85, 1.0)),  # mostly zeros and ones
        ((2.0, 30.0), (2.0, 30.0), (0.75, 0.9)),  # larger counts: plain coverage near 80%
        ((0.2, 3.0), (1.0, 9.0), (0.75, 0.95)),  # larger means than calibrated on
    ],
)
def test_calibrated_intervals_are_calibrated_for_counts(
    fit_range: tuple[float, float], new_range: tuple[float, float], plain: tuple[float, float]
) -> None:
    rng = np.random.default_rng(0)
    mean = rng.uniform(*fit_range, 20_000)
    horizon = rng.integers(1, 3, mean.size)
    model = CountIntervals().fit(_draws(mean, 0.3, rng), mean, horizon)
    assert model.dispersion_[1] == pytest.approx(0.3, abs=0.1)  # noisy at tiny means
    fresh = rng.uniform(*new_range, 20_000)
    y = _draws(fresh, 0.3, rng)
    lo, hi = model.pit(y, fresh, horizon)
    count_aware = 1 - np.mean(pit_share_below(lo, hi, 0.1) + pit_share_above(lo, hi, 0.9))
    assert 0.77 <= count_aware <= 0.83
    q = model.quantiles(fresh, horizon)
    covered = np.mean((y >= q["q10"]) & (y <= q["q90"]))
    assert plain[0] <= covered <= plain[1]
    assert np.all(q["q10"] <= q["q50"]) and np.all(q["q50"] <= q["q90"])


def test_without_calibration_data_intervals_are_poisson() -> None:
    model = CountIntervals().fit(np.empty(0), np.empty(0), np.empty(0, int))
    q = model.quantiles(np.array([10.0]), np.array([1]))
    assert (q["q10"][0], q["q90"][0]) == (6.0, 14.0)  # Poisson(10) 10% and 90% quantiles
