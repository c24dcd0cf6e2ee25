"""Predictive intervals for counts: negative binomial, calibrated on held-out forecasts.

A point forecast ``m`` becomes a negative binomial predictive distribution ``F`` with variance
``m + phi_h * m**2``; ``phi_h`` (per horizon) is the excess variance of held-out forecast
errors, so it covers model error as well as Poisson noise.

Calibration is judged by the randomized PIT, the only measure of it that does not depend on
how discrete the counts are. For an outcome ``y`` the PIT is drawn uniformly between
``F(y - 1)`` and ``F(y)``; for a forecast distribution that is right it is uniform on [0, 1]
whatever the mean, so its share in ``[0.1, 0.9]`` is 0.8 even where nearly every count is
0 or 1. The plain share of outcomes inside ``[q10, q90]`` is not: with a mean of 0.3 the
true 10% and 90% quantiles are 0 and 1, which hold 96% of the outcomes, and no interval of
whole numbers holds 80%. Rather than draw, the shares are their expectations over the draw
(:func:`pit_share_below`, :func:`pit_share_above`): an outcome on an end of the interval
counts as inside for the part of its probability that lies between the levels.

The quantile levels are calibrated on that measure (conformal style): per band of the
forecast mean, the levels ``(l, u)`` at which a tenth of the held-out PITs fall below ``l``
and a tenth above ``u``. The forecast distribution is then ``G(F)``, ``G`` the monotone map
linear between ``(0, 0), (l, 0.1), (0.5, 0.5), (u, 0.9), (1, 1)``, whose 10% and 90%
quantiles are ``F``'s at ``l`` and ``u`` (:meth:`CountIntervals.pit` gives its PIT bounds).
Bands above those seen in calibration keep nominal levels (``G`` the identity).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator

__all__ = ["CountIntervals", "pit_share_above", "pit_share_below"]

_GRID_LO = np.round(np.arange(0.01, 0.50, 0.01), 2)
_GRID_HI = np.round(np.arange(0.51, 1.00, 0.01), 2)

_BANDS = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])  # edges of the bands of the mean
_MIN_BAND = 200  # outcomes needed to calibrate a band on its own
_MAX_ROWS = 8_000  # held-out outcomes a band's search looks at (a seeded subsample beyond)


def pit_share_below(lo: np.ndarray, hi: np.ndarray, level: float) -> np.ndarray:
    """The chance that a PIT drawn uniformly in ``[lo, hi]`` falls below ``level``."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip((level - lo) / width, 0.0, 1.0)
    return np.where(width > 0, share, (lo < level).astype(float))


def pit_share_above(lo: np.ndarray, hi: np.ndarray, level: float) -> np.ndarray:
    """The chance that a PIT drawn uniformly in ``[lo, hi]`` falls above ``level``."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip((hi - level) / width, 0.0, 1.0)
    return np.where(width > 0, share, (lo > level).astype(float))


def _stretch(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, tail: float) -> np.ndarray:
    """``G(x)``: linear between (0, 0), (lo, tail), (0.5, 0.5), (hi, 1 - tail), (1, 1)."""
    x = np.asarray(x, float)
    return np.where(
        x <= lo,
        tail * x / lo,
        np.where(
            x <= 0.5,
            tail + (0.5 - tail) * (x - lo) / (0.5 - lo),
            np.where(
                x <= hi,
                0.5 + (0.5 - tail) * (x - 0.5) / (hi - 0.5),
                1.0 - tail + tail * (x - hi) / (1.0 - hi),
            ),
        ),
    )


def _levels(cdf_before: np.ndarray, cdf_y: np.ndarray, tail: float) -> tuple[float, float]:
    """Levels at which ``tail`` of the held-out PITs fall below, and ``tail`` above.

    Each level moves the map on its own side of 0.5 only, but an outcome's PIT interval can
    span both (a zero with ``F(0) = 0.74``), so the two are searched in turn.
    """
    if len(cdf_y) > _MAX_ROWS:
        keep = np.random.default_rng(0).choice(len(cdf_y), _MAX_ROWS, replace=False)
        cdf_before, cdf_y = cdf_before[keep], cdf_y[keep]
    a, b = cdf_before[None, :], cdf_y[None, :]

    def misses(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        ga = _stretch(a, lo[:, None], hi[:, None], tail)
        gb = _stretch(b, lo[:, None], hi[:, None], tail)
        below = pit_share_below(ga, gb, tail).mean(axis=1)
        above = pit_share_above(ga, gb, 1.0 - tail).mean(axis=1)
        # Where the data do not move a level (zeros whose PIT spans 0.5), stay nominal.
        drift = 1e-6 * ((lo - tail) ** 2 + (hi - 1.0 + tail) ** 2)
        return np.asarray((below - tail) ** 2 + (above - tail) ** 2 + drift)

    def search(grid: np.ndarray, cost: Callable[[np.ndarray], np.ndarray]) -> float:
        # Coarse (every fourth level), then the levels around the best: the misses move
        # smoothly with a level, and this is fitted once per model and band.
        coarse = grid[::4]
        best = int(np.argmin(cost(coarse))) * 4
        fine = grid[max(best - 3, 0) : best + 4]
        return float(fine[np.argmin(cost(fine))])

    lo, hi = tail, 1.0 - tail
    for _ in range(2):
        lo = search(_GRID_LO, lambda g, hi=hi: misses(g, np.full(len(g), hi)))  # type: ignore[misc]
        hi = search(_GRID_HI, lambda g, lo=lo: misses(np.full(len(g), lo), g))  # type: ignore[misc]
    return lo, hi


class CountIntervals(BaseEstimator):
    """Negative-binomial quantiles with dispersion and levels calibrated on held-out data.

    Parameters
    ----------
    coverage
        Target share of randomized PITs inside the interval's levels.
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
        # Levels are calibrated per band of the mean (how far F is off may depend on it).
        # Bands above the calibrated ones (forecasts of activity are larger than the
        # observed counts calibrated on) get nominal levels.
        self.band_levels_ = np.tile(nominal, (len(_BANDS) + 1, 1))
        if self.calibrate_levels and len(y):
            cdf_before = self._cdf(y - 1, mean, horizon)
            cdf_y = self._cdf(y, mean, horizon)
            self.levels_ = _levels(cdf_before, cdf_y, tail)
            band = np.searchsorted(_BANDS, mean, side="right")
            top = int(band.max())
            for b in range(len(_BANDS) + 1):
                sel = band == b
                if sel.sum() >= _MIN_BAND:
                    self.band_levels_[b] = _levels(cdf_before[sel], cdf_y[sel], tail)
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

    def _band_levels(self, mean: np.ndarray) -> np.ndarray:
        return np.asarray(self.band_levels_[np.searchsorted(_BANDS, mean, side="right")])

    def quantiles(self, mean: np.ndarray, horizon: np.ndarray) -> dict[str, np.ndarray]:
        """``q10``, ``q50`` and ``q90`` (at the calibrated levels) for each forecast."""
        mean = np.asarray(mean, float)
        horizon = np.broadcast_to(np.asarray(horizon, int), mean.shape)
        levels = self._band_levels(mean)
        return {
            "q10": self._ppf(levels[..., 0], mean, horizon),
            "q50": self._ppf(np.full(mean.shape, 0.5), mean, horizon),
            "q90": self._ppf(levels[..., 1], mean, horizon),
        }

    def pit(
        self, y: np.ndarray, mean: np.ndarray, horizon: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The forecast distribution's CDF just below and at each outcome: ``G(F(y-1)), G(F(y))``.

        A randomized PIT is uniform between the two; NaN where the outcome is unknown.
        """
        y = np.asarray(y, float)
        mean = np.maximum(np.nan_to_num(np.asarray(mean, float), nan=0.0), 1e-9)
        horizon = np.broadcast_to(np.asarray(horizon, int), mean.shape)
        known = np.isfinite(y)
        k = np.where(known, y, 0.0)
        levels = self._band_levels(mean)
        tail = (1.0 - self.coverage) / 2
        lo, hi = levels[..., 0], levels[..., 1]
        before = _stretch(self._cdf(k - 1, mean, horizon), lo, hi, tail)
        at = _stretch(self._cdf(k, mean, horizon), lo, hi, tail)
        return np.where(known, before, np.nan), np.where(known, at, np.nan)
