"""Forecast metrics of the design: Poisson deviance, MAE, PAI, interval coverage, Spearman.

Each metric takes plain arrays; :func:`score` applies them to a table of backtest forecasts
and groups them (overall, per horizon, per country).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error, mean_poisson_deviance

__all__ = [
    "DEVIANCE_FLOOR",
    "coverage",
    "interval_width",
    "mae",
    "pai",
    "poisson_deviance",
    "score",
    "spearman",
]

DEVIANCE_FLOOR = 0.1


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean Poisson deviance, predictions floored at :data:`DEVIANCE_FLOOR`.

    The floor makes a confident zero that misses costly but finite, the same for every model.
    """
    y = np.asarray(y, float)
    mu = np.maximum(np.asarray(mu, float), DEVIANCE_FLOOR)
    if not len(y):
        return float("nan")
    return float(mean_poisson_deviance(y, mu))


def mae(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean absolute error."""
    y = np.asarray(y, float)
    if not len(y):
        return float("nan")
    return float(mean_absolute_error(y, np.asarray(mu, float)))


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of outcomes inside ``[lo, hi]``."""
    y = np.asarray(y, float)
    return float(np.mean((y >= np.asarray(lo, float)) & (y <= np.asarray(hi, float))))


def interval_width(lo: np.ndarray, hi: np.ndarray) -> float:
    """Mean width of the intervals."""
    return float(np.mean(np.asarray(hi, float) - np.asarray(lo, float)))


def pai(y: np.ndarray, mu: np.ndarray, area: np.ndarray, share: float = 0.1) -> float:
    """Predictive accuracy index at ``share`` of the area: ``(n / N) / (a / A)``.

    Cells are taken in decreasing order of predicted density (prediction per area) until they
    cover ``share`` of the total area; ``n`` is the outcome inside them. NaN when ``N = 0``.
    """
    y, mu, area = (np.asarray(a, float) for a in (y, mu, area))
    total_y, total_a = y.sum(), area.sum()
    if total_y <= 0 or total_a <= 0:
        return float("nan")
    order = np.argsort(-(mu / area), kind="stable")
    cum = np.cumsum(area[order])
    take = order[: int(np.searchsorted(cum, share * total_a)) + 1]
    return float((y[take].sum() / total_y) / (area[take].sum() / total_a))


def spearman(y: np.ndarray, mu: np.ndarray) -> float:
    """Spearman rank correlation; NaN when either side is constant."""
    y, mu = np.asarray(y, float), np.asarray(mu, float)
    if len(y) < 2 or np.ptp(y) == 0 or np.ptp(mu) == 0:
        return float("nan")
    return float(spearmanr(y, mu).statistic)


def _per_slice(frame: pd.DataFrame, fn: object, *cols: str) -> float:
    # PAI and Spearman rank regions against each other, so they are computed within one
    # cross-section (origin, horizon, category) and averaged.
    arrays = [frame[c].to_numpy(float) for c in cols]
    groups = frame.groupby(["origin", "horizon", "category"], sort=False).indices
    values = [fn(*(a[idx] for a in arrays)) for idx in groups.values()]  # type: ignore[operator]
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _metrics(frame: pd.DataFrame, actual: str, mean: str, lo: str, hi: str) -> dict[str, float]:
    return {
        "poisson_deviance": poisson_deviance(frame[actual], frame[mean]),
        "mae": mae(frame[actual], frame[mean]),
        "pai10": _per_slice(frame, pai, actual, mean, "area_km2"),
        "coverage80": coverage(frame[actual], frame[lo], frame[hi]),
        "interval_width80": interval_width(frame[lo], frame[hi]),
    }


def score(frame: pd.DataFrame, scope: str) -> dict[str, float]:
    """Metrics of one model's backtest forecasts.

    Parameters
    ----------
    frame
        Backtest rows with ``origin``, ``horizon``, ``category``, ``area_km2`` and, for
        ``scope="observed"``: ``actual``, ``prediction``, ``q10``, ``q90``; for
        ``scope="truth"``: ``true_activity``, ``true_incidents``, ``activity_mean``,
        ``activity_q10``, ``activity_q90``.
    scope
        ``"observed"`` scores forecasts of observed counts at the effort spent. ``"truth"``
        scores activity forecasts against the true activity rate; the 80% interval, a
        predictive interval of incidents, is checked against the true incidents.
    """
    if scope == "observed":
        rows = frame.dropna(subset=["actual"])
        return _metrics(rows, "actual", "prediction", "q10", "q90")
    rows = frame.dropna(subset=["true_activity"])
    out = _metrics(rows, "true_activity", "activity_mean", "activity_q10", "activity_q90")
    out["coverage80"] = coverage(rows["true_incidents"], rows["activity_q10"], rows["activity_q90"])
    out["spearman"] = _per_slice(rows, spearman, "true_activity", "activity_mean")
    return out
