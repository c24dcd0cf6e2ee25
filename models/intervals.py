"""Predictive intervals for counts: negative binomial, calibrated on held-out forecasts.

A point forecast ``m`` becomes a negative binomial predictive distribution with variance
``m + phi_h * m**2``; ``phi_h`` (per horizon) is the excess variance of held-out forecast
errors, so it covers model error as well as Poisson noise. Counts are discrete and often
small, so the nominal 10% and 90% quantiles would cover more than 80%; the quantile levels
are therefore calibrated too (conformal style): per band of the forecast mean, the levels at
which 20% of held-out outcomes fall outside the interval, split as evenly as the counts
allow between the two sides. Bands above those seen in calibration keep nominal levels.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator

__all__ = ["CountIntervals"]

_GRID_LO = np.round(np.arange(0.01, 0.50, 0.01), 2)
_GRID_HI = np.round(np.arange(0.51, 1.00, 0.01), 2)


_BANDS = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])  # edges of the bands of the mean
_MIN_BAND = 200  # outcomes needed to calibrate a band on its own


def _levels(cdf_y: np.ndarray, cdf_before: np.ndarray, tail: float) -> tuple[float, float]:
    """Levels whose interval misses ``2 * tail`` of the outcomes, as evenly split as can be.

    Small counts cannot always miss exactly ``tail`` on each side; the total miss comes
    first, so that coverage is right, and the balance between the tails second.
    """
    below = (cdf_y[None, :] < _GRID_LO[:, None]).mean(axis=1)
    above = (cdf_before[None, :] >= _GRID_HI[:, None]).mean(axis=1)
    miss = below[:, None] + above[None, :]
    cost = (miss - 2 * tail) ** 2 + 0.1 * (below[:, None] - above[None, :]) ** 2
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return float(_GRID_LO[i]), float(_GRID_HI[j])


class CountIntervals(BaseEstimator):
    """Negative-binomial quantiles with dispersion and levels calibrated on held-out data.

    Parameters
    ----------
    coverage
        Target share of outcomes inside the interval.
    calibrate_levels
        Calibrate the quantile levels on held-out data; otherwise use the nominal ones.
    """

    def __init__(self, coverage: float = 0.8, calibrate_levels: bool = True) -> None:
        self.coverage = coverage
        self.calibrate_levels = calibrate_levels

    def fit(self, y: np.ndarray, mean: np.ndarray, horizon: np.ndarray) -> CountIntervals:
        """Calibrate on held-out outcomes ``y``, their forecasts ``mean`` and horizons."""
        y, mean = np.asarray(y, float), np.maximum(np.asarray(mean, float), 1e-9)
        horizon = np.asarray(horizon, int)
        ok = np.isfinite(y) & np.isfinite(mean)
        y, mean, horizon = y[ok], mean[ok], horizon[ok]
        tail = (1.0 - self.coverage) / 2
        self.dispersion_ = {}
        for h in np.unique(horizon):
            sel = horizon == h
            excess = float(np.sum((y[sel] - mean[sel]) ** 2 - y[sel]))
            self.dispersion_[int(h)] = max(excess / float(np.sum(mean[sel] ** 2)), 0.0)
        nominal = (tail, 1.0 - tail)
        self.levels_ = nominal
        # Discreteness, and so the level correction, depends on the size of the mean: levels
        # are calibrated per band of the mean. Bands above the calibrated ones (forecasts of
        # activity are larger than the observed counts calibrated on) get nominal levels,
        # which suit larger, less discrete counts.
        self.band_levels_ = np.tile(nominal, (len(_BANDS) + 1, 1))
        if self.calibrate_levels and len(y):
            # With Q the quantile function: y < Q(q) iff F(y) < q, and y > Q(q) iff F(y-1) >= q.
            cdf_y = self._cdf(y, mean, horizon)
            cdf_before = self._cdf(y - 1, mean, horizon)
            self.levels_ = _levels(cdf_y, cdf_before, tail)
            band = np.searchsorted(_BANDS, mean, side="right")
            top = int(band.max())
            for b in range(len(_BANDS) + 1):
                sel = band == b
                if sel.sum() >= _MIN_BAND:
                    self.band_levels_[b] = _levels(cdf_y[sel], cdf_before[sel], tail)
                elif b <= top:
                    self.band_levels_[b] = self.levels_
        self.n_calibration_ = len(y)
        return self

    def _phi(self, horizon: np.ndarray) -> np.ndarray:
        known = self.dispersion_
        if not known:
            return np.zeros(np.shape(horizon))
        # Horizons beyond those calibrated take the farthest calibrated one's dispersion.
        keys = np.minimum(np.asarray(horizon, int), max(known))
        table = np.array([known.get(h, max(known.values())) for h in range(max(known) + 1)])
        return table[np.maximum(keys, 0)]

    def _ppf(self, q: np.ndarray, mean: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        mean = np.maximum(np.asarray(mean, float), 1e-9)
        q = np.broadcast_to(q, mean.shape)
        phi = self._phi(np.broadcast_to(horizon, mean.shape))
        out = np.asarray(stats.poisson.ppf(q, mean), float)
        nb = phi > 1e-8
        if nb.any():
            shape = 1.0 / phi[nb]
            out[nb] = stats.nbinom.ppf(q[nb], shape, shape / (shape + mean[nb]))
        return out

    def _cdf(self, k: np.ndarray, mean: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        phi = self._phi(horizon)
        out = np.asarray(stats.poisson.cdf(k, mean), float)
        nb = phi > 1e-8
        if nb.any():
            shape = 1.0 / phi[nb]
            out[nb] = stats.nbinom.cdf(k[nb], shape, shape / (shape + mean[nb]))
        return out

    def quantiles(self, mean: np.ndarray, horizon: np.ndarray) -> dict[str, np.ndarray]:
        """``q10``, ``q50`` and ``q90`` (at the calibrated levels) for each forecast."""
        mean = np.asarray(mean, float)
        horizon = np.broadcast_to(np.asarray(horizon, int), mean.shape)
        levels = self.band_levels_[np.searchsorted(_BANDS, mean, side="right")]
        return {
            "q10": self._ppf(levels[..., 0], mean, horizon),
            "q50": self._ppf(np.full(mean.shape, 0.5), mean, horizon),
            "q90": self._ppf(levels[..., 1], mean, horizon),
        }
