"""The interdiction curve and its piecewise-linear approximation.

Expected interdictions in one region and period, as a function of effective effort E, are
``f(E) = Σ_c λ_c · (1 − exp(−κ_c · E))``: concave and increasing, so a maximisation can
use it as a sum of segments that fill in order. The piecewise curve interpolates ``f``
between breakpoints, so it never exceeds it; breakpoints are placed so that it is never
more than a relative ε below it either::

    piecewise(E) ≤ f(E) ≤ piecewise(E) / (1 − ε)        for every E ≥ 0.

Placement uses two classical bounds, so ε is proved, not sampled. On the first segment
``[0, b]``, ``f(x)/x`` decreases and ``g(y)/y ≥ 1 − y/2`` give a relative error of at most
``b Σλκ² / (2 Σλκ)``. On ``[a, b]`` the chord is at most ``(b − a)² |f''(a)| / 8`` below ``f``
(``|f''|`` is largest at ``a``) while ``f ≥ f(a)``. Once ``f(a) ≥ (1 − ε) Σλ``, any chord to
the right stays within ε. The curve stops at the most effort the region can receive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_TOLERANCE", "Curves", "build_curves", "exact_value"]

DEFAULT_TOLERANCE = 0.005
_MAX_SEGMENTS = 200


def _g(x: np.ndarray) -> np.ndarray:
    return np.asarray(-np.expm1(-x))


def exact_value(activity: np.ndarray, kappa: np.ndarray, effort: np.ndarray) -> np.ndarray:
    """Expected interdictions per (region, period): ``Σ_c λ (1 − exp(−κ E))``.

    Parameters
    ----------
    activity, kappa
        Arrays (regions, categories, periods).
    effort
        Effective effort, array (regions, periods).
    """
    return np.asarray(np.sum(activity * _g(kappa * effort[:, None, :]), axis=1))


@dataclass(frozen=True, eq=False)
class Curves:
    """Segments of the piecewise curve of every (region, period).

    Segments of curve ``(r, t)`` are ``widths[offsets[k]:offsets[k + 1]]`` and
    ``slopes[...]`` with ``k = r * n_periods + t``; slopes decrease.

    Parameters
    ----------
    offsets, widths, slopes
        Flat segment arrays, see above.
    n_periods
        Number of periods.
    max_error
        Largest relative error over every curve and segment (a proved bound, ≤ tolerance):
        ``piecewise ≥ (1 − max_error) · exact``.
    """

    offsets: np.ndarray
    widths: np.ndarray
    slopes: np.ndarray
    n_periods: int
    max_error: float

    def segments(self, region: int, period: int) -> tuple[np.ndarray, np.ndarray]:
        """Widths and slopes of the segments of one curve."""
        k = region * self.n_periods + period
        lo, hi = self.offsets[k], self.offsets[k + 1]
        return self.widths[lo:hi], self.slopes[lo:hi]

    def subset(self, regions: np.ndarray) -> Curves:
        """The curves of ``regions`` (indices, in that order), every period."""
        ids = (np.asarray(regions)[:, None] * self.n_periods + np.arange(self.n_periods)).ravel()
        counts = np.diff(self.offsets)[ids]
        offsets = np.concatenate([[0], np.cumsum(counts)])
        take = np.repeat(self.offsets[ids] - offsets[:-1], counts) + np.arange(offsets[-1])
        return Curves(offsets, self.widths[take], self.slopes[take], self.n_periods, self.max_error)

    def value(self, effort: np.ndarray) -> np.ndarray:
        """Piecewise value of every curve at ``effort`` (regions, periods)."""
        curve = np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))
        starts = np.cumsum(self.widths) - self.widths
        first = np.append(starts, 0.0)[self.offsets[:-1]]
        starts -= np.repeat(first, np.diff(self.offsets))
        filled = np.clip(effort.ravel()[curve] - starts, 0.0, self.widths)
        out = np.bincount(curve, weights=filled * self.slopes, minlength=effort.size)
        return out.reshape(effort.shape)


def build_curves(
    activity: np.ndarray,
    kappa: np.ndarray,
    max_effort: np.ndarray,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Curves:
    """Piecewise curves of every (region, period), up to the most effort it can get.

    Parameters
    ----------
    activity, kappa
        Arrays (regions, categories, periods).
    max_effort
        Most effective effort each (region, period) can receive, array (regions, periods).
    tolerance
        Relative error ε the curves must stay within, in (0, 0.5).
    """
    if not 0 < tolerance < 0.5:
        raise ValueError(f"tolerance must be in (0, 0.5), got {tolerance}")
    _, n_c, n_t = activity.shape
    lam = np.where(kappa > 0, activity, 0.0).transpose(0, 2, 1).reshape(-1, n_c)
    kap = kappa.transpose(0, 2, 1).reshape(-1, n_c)
    top = max_effort.reshape(-1).astype(float)
    points, errors = _breakpoints(lam, kap, top, tolerance)
    widths, slopes, counts = [], [], np.zeros(len(top), dtype=int)
    for k in np.flatnonzero(~np.isnan(points[:, 0])):
        p = points[k][~np.isnan(points[k])]
        values = _g(np.outer(p, kap[k])) @ lam[k]
        w = np.diff(p, prepend=0.0)
        s = np.diff(values, prepend=0.0) / w
        # Far along the curve the slope is negligible; such segments only add variables.
        keep = s > 1e-9 * s[0]
        widths.append(w[keep])
        slopes.append(s[keep])
        counts[k] = int(keep.sum())
    return Curves(
        offsets=np.concatenate([[0], np.cumsum(counts)]),
        widths=np.concatenate(widths) if widths else np.zeros(0),
        slopes=np.concatenate(slopes) if slopes else np.zeros(0),
        n_periods=n_t,
        max_error=float(errors.max()) if errors.size else 0.0,
    )


def _breakpoints(
    lam: np.ndarray, kap: np.ndarray, top: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints of every curve (rows, NaN-padded; all NaN: no curve) and error bounds."""
    d1 = (lam * kap).sum(axis=1)
    d2 = (lam * kap**2).sum(axis=1)
    total = lam.sum(axis=1)
    live = (d1 > 0) & (top > 0)
    rows = np.full((len(top), _MAX_SEGMENTS + 1), np.nan)
    if not live.any():
        return rows, np.zeros(0)
    a = np.where(live, np.minimum(2 * eps * d1 / np.where(live, d2, 1.0), top), np.nan)
    rows[:, 0] = a
    errors = [np.where(live, d2 * a / (2 * np.where(live, d1, 1.0)), 0.0)]
    open_ = live & (a < top)
    for i in range(1, _MAX_SEGMENTS + 1):
        if not open_.any():
            break
        f_a = (lam * _g(kap * a[:, None])).sum(axis=1)
        curv = (lam * kap**2 * np.exp(-kap * a[:, None])).sum(axis=1)
        flat = f_a >= (1 - eps) * total
        step = np.sqrt(8 * eps * f_a / np.where(curv > 0, curv, 1.0))
        b = np.where(flat, top, np.minimum(a + step, top))
        seg_error = np.where(
            flat, 1 - f_a / np.where(total > 0, total, 1.0), (b - a) ** 2 * curv / (8 * f_a)
        )
        b = np.where(open_, b, np.nan)
        rows[:, i] = b
        errors.append(np.where(open_, seg_error, 0.0))
        a = np.where(open_, b, a)
        open_ = open_ & (b < top)
    if open_.any():
        raise RuntimeError("piecewise curve needs more segments than allowed")
    return rows, np.concatenate(errors)
