"""Forecast metrics of the design: Poisson deviance, MAE, PAI, interval coverage (plain and
count-aware) and score, pinball losses, Spearman and top-10% capture.

Each metric takes plain arrays; :func:`score` applies them to a table of backtest forecasts
and groups them (overall, per horizon, per country).

The 80% interval is ``[q10, q90]``. Besides its coverage, each end is checked on its own: the
share of outcomes below ``q10`` and the share above ``q90`` should each be 0.10 (an interval
can cover 80% by missing 20% on one side, which a planner using q90 would not want). Counts
are discrete, so an outcome equal to an end counts as inside.

Plain coverage of counts is not 80% even for a forecast that is right: where most outcomes
are 0 or 1, the true 10% and 90% quantiles hold far more than 80% of them. The count-aware
coverage (``pit_coverage``) is the expected share of randomized PITs between the levels,
from each forecast's CDF just below and at its outcome (backtest columns ``pit_lo`` and
``pit_hi``; :mod:`models.intervals`): 0.80 for a calibrated forecast whatever the sparsity,
and the coverage that eligibility and the gate read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import xlogy
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error

from crossplan.models.intervals import pit_share_above, pit_share_below

__all__ = [
    "CALIBRATION_LEVELS",
    "DEVIANCE_FLOOR",
    "INTERVAL_ALPHA",
    "PIT_LEVELS",
    "calibration_by_level",
    "capture",
    "coverage",
    "interval_score",
    "interval_scores",
    "interval_width",
    "mae",
    "pai",
    "pinball",
    "pit_coverage",
    "poisson_deviance",
    "poisson_deviances",
    "score",
    "spearman",
]

DEVIANCE_FLOOR = 0.1
#: The share of outcomes the 80% interval ``[q10, q90]`` may miss.
INTERVAL_ALPHA = 0.2


def poisson_deviances(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Each forecast's Poisson deviance, predictions floored at :data:`DEVIANCE_FLOOR`.

    The floor makes a confident zero that misses costly but finite, the same for every model.
    """
    y = np.asarray(y, float)
    mu = np.maximum(np.asarray(mu, float), DEVIANCE_FLOOR)
    return np.asarray(2.0 * (xlogy(y, y / mu) - y + mu), float)


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean Poisson deviance (:func:`poisson_deviances`); NaN without forecasts."""
    if not len(y):
        return float("nan")
    return float(np.mean(poisson_deviances(y, mu)))


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


def pit_coverage(lo: np.ndarray, hi: np.ndarray, level: float = 0.8) -> float:
    """Expected share of randomized PITs (uniform in ``[lo, hi]``) in the central ``level``."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if not len(lo):
        return float("nan")
    tail = (1.0 - level) / 2
    return float(1.0 - np.mean(pit_share_below(lo, hi, tail) + pit_share_above(lo, hi, 1 - tail)))


#: Central levels of the calibration table and plot logged with each run: 10% .. 90%.
CALIBRATION_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def calibration_by_level(
    predictions: pd.DataFrame, levels: tuple[float, ...] = CALIBRATION_LEVELS
) -> pd.DataFrame:
    """Count-aware coverage of each central ``level`` per model and horizon.

    A calibrated forecast covers each level's share of its outcomes: the table is a
    reliability diagram. Rows of backtest forecasts without an observed outcome or PIT bounds
    are left out; ``coverage`` is the plain coverage of ``[q10, q90]``, on the 0.8 rows only
    (the one interval a forecast row carries).

    Returns
    -------
    pandas.DataFrame
        ``model, horizon, level, pit_coverage, coverage, n``.
    """
    rows = predictions.dropna(subset=["actual", "pit_lo", "pit_hi"])
    out = []
    for (model, h), g in rows.groupby(["model", "horizon"], sort=False):
        lo, hi = g["pit_lo"].to_numpy(float), g["pit_hi"].to_numpy(float)
        plain = coverage(
            g["actual"].to_numpy(float), g["q10"].to_numpy(float), g["q90"].to_numpy(float)
        )
        for level in levels:
            out.append(
                {
                    "model": str(model), "horizon": int(h), "level": level,
                    "pit_coverage": pit_coverage(lo, hi, level),
                    "coverage": plain if np.isclose(level, 1 - INTERVAL_ALPHA) else np.nan,
                    "n": len(g),
                }
            )  # fmt: skip
    columns = ["model", "horizon", "level", "pit_coverage", "coverage", "n"]
    return pd.DataFrame(out, columns=columns)


def interval_scores(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, alpha: float = INTERVAL_ALPHA
) -> np.ndarray:
    """Each central ``1 - alpha`` interval's score (Gneiting and Raftery, 2007).

    The width, plus ``2 / alpha`` times the distance by which an outcome falls outside: a
    proper score, so an interval too narrow to cover and one too wide both lose.
    """
    y, lo, hi = (np.asarray(a, float) for a in (y, lo, hi))
    below, above = np.maximum(lo - y, 0.0), np.maximum(y - hi, 0.0)
    return np.asarray(hi - lo + (2.0 / alpha) * (below + above), float)


def interval_score(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, alpha: float = INTERVAL_ALPHA
) -> float:
    """Mean interval score (:func:`interval_scores`); NaN without forecasts."""
    if not len(np.asarray(y)):
        return float("nan")
    return float(np.mean(interval_scores(y, lo, hi, alpha)))


def pinball(y: np.ndarray, q: np.ndarray, level: float) -> float:
    """Mean pinball (quantile) loss of forecasts ``q`` of the ``level`` quantile."""
    y, q = np.asarray(y, float), np.asarray(q, float)
    if not len(y):
        return float("nan")
    diff = y - q
    return float(np.mean(np.maximum(level * diff, (level - 1.0) * diff)))


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


def capture(truth: np.ndarray, mu: np.ndarray, share: float = 0.1) -> float:
    """Share of the attainable true activity that the top ``share`` of cells by forecast hold.

    The true activity in the ``ceil(share * n)`` cells forecast highest, over the true
    activity in the ``ceil(share * n)`` cells truly highest: 1 when the forecast ranks the
    hotspots a planner would send patrols to as the truth does. NaN when there is none.
    """
    truth, mu = np.asarray(truth, float), np.asarray(mu, float)
    k = int(np.ceil(share * len(truth)))
    best = np.sort(truth)[::-1][:k].sum()
    if k == 0 or best <= 0:
        return float("nan")
    return float(truth[np.argsort(-mu, kind="stable")[:k]].sum() / best)


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
        **_interval(frame[actual], frame[lo], frame[hi]),
    }


#: Central levels the count-aware coverage is reported at (``pit_coverage50`` ...).
PIT_LEVELS = (0.5, 0.8, 0.9)


def _interval(
    y: pd.Series, lo: pd.Series, hi: pd.Series, pit: pd.DataFrame | None = None
) -> dict[str, float]:
    """Coverage of the 80% interval, each end's miss share, its width, score and pinball;
    with ``pit`` (columns ``lo``, ``hi``: each forecast's PIT bounds), the count-aware
    coverage at :data:`PIT_LEVELS` and each tail's share. Without it (forecasts scored
    with no distribution), the count-aware 80% figures are the plain ones."""
    y_, lo_, hi_ = (np.asarray(a, float) for a in (y, lo, hi))
    empty = not len(y_)
    out = {
        "coverage80": coverage(y_, lo_, hi_),
        "below_q10": float("nan") if empty else float(np.mean(y_ < lo_)),
        "above_q90": float("nan") if empty else float(np.mean(y_ > hi_)),
        "interval_width80": interval_width(lo_, hi_),
        "interval_score80": interval_score(y_, lo_, hi_),
        "pinball_q10": pinball(y_, lo_, INTERVAL_ALPHA / 2),
        "pinball_q90": pinball(y_, hi_, 1 - INTERVAL_ALPHA / 2),
    }
    if pit is None or pit["lo"].isna().all():
        out["pit_coverage80"] = out["coverage80"]
        out["pit_below_q10"], out["pit_above_q90"] = out["below_q10"], out["above_q90"]
        return out
    a, b = pit["lo"].to_numpy(float), pit["hi"].to_numpy(float)
    for level in PIT_LEVELS:
        out[f"pit_coverage{round(level * 100)}"] = pit_coverage(a, b, level)
    tail = INTERVAL_ALPHA / 2
    out["pit_below_q10"] = float("nan") if empty else float(np.mean(pit_share_below(a, b, tail)))
    out["pit_above_q90"] = (
        float("nan") if empty else float(np.mean(pit_share_above(a, b, 1 - tail)))
    )
    return out


def _pit(frame: pd.DataFrame, lo: str, hi: str) -> pd.DataFrame | None:
    if lo not in frame or hi not in frame:
        return None
    return pd.DataFrame({"lo": frame[lo], "hi": frame[hi]})


def score(frame: pd.DataFrame, scope: str) -> dict[str, float]:
    """Metrics of one model's backtest forecasts.

    Parameters
    ----------
    frame
        Backtest rows with ``origin``, ``horizon``, ``category``, ``area_km2`` and, for
        ``scope="observed"``: ``actual``, ``prediction``, ``q10``, ``q90`` (and, for the
        count-aware coverage, ``pit_lo``, ``pit_hi``); for ``scope="truth"``:
        ``true_activity``, ``true_incidents``, ``activity_mean``, ``activity_q10``,
        ``activity_q90`` (and ``activity_pit_lo``, ``activity_pit_hi``).
    scope
        ``"observed"`` scores forecasts of observed counts at the effort spent. ``"truth"``
        scores activity forecasts against the true activity rate; the 80% interval, a
        predictive interval of incidents, is checked against the true incidents.
    """
    if scope == "observed":
        rows = frame.dropna(subset=["actual"])
        out = _metrics(rows, "actual", "prediction", "q10", "q90")
        pit = _pit(rows, "pit_lo", "pit_hi")
        out.update(_interval(rows["actual"], rows["q10"], rows["q90"], pit))
        return out
    rows = frame.dropna(subset=["true_activity"])
    out = _metrics(rows, "true_activity", "activity_mean", "activity_q10", "activity_q90")
    pit = _pit(rows, "activity_pit_lo", "activity_pit_hi")
    out.update(_interval(rows["true_incidents"], rows["activity_q10"], rows["activity_q90"], pit))
    out["spearman"] = _per_slice(rows, spearman, "true_activity", "activity_mean")
    out["capture10"] = _per_slice(rows, capture, "true_activity", "activity_mean")
    return out
