"""How sure the effort correction is: the uncertainty of a detection model's log exposure.

:class:`~models.detection.DetectionModel` applies each part of a cell's log exposure in
proportion to how well the data identify it (see its module). The pieces of that
calculation live here: the inverse observed information of its likelihood, the log
exposure and its derivatives by the parameters, the common level over the training cells,
the Wiener factor that turns a part and its variance into the share applied, how much of
the correction between cells follows past counts (:func:`follows_counts`), and the reasons
given for both in words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

__all__ = [
    "Parts",
    "bootstrap_intervals",
    "correction_reason",
    "feedback_reason",
    "follows_counts",
    "inverse_information",
    "log_exposure",
    "mean_log_exposure",
    "wiener",
]

#: Fewer cells per predictor than this in a country: no evidence that patrols follow counts.
_MIN_CELLS_PER_PREDICTOR = 10
#: R² from which a country's patrols are said to follow past counts in the reason.
_FOLLOWS = 0.3


@dataclass(frozen=True)
class Parts:
    """A cell's log exposure ``full = level + diff`` and the share of each part applied.

    ``within`` is the part of ``diff`` that sets the cell apart from its country's mean
    (``diff`` less the country's own difference from the level); of it only ``s_within``
    (where patrols follow past counts, less than 1) is applied, on top of ``s_diff``.
    """

    full: np.ndarray
    level: float
    s_level: float
    diff: np.ndarray
    s_diff: np.ndarray
    unknown: np.ndarray
    within: np.ndarray | float = 0.0
    s_within: np.ndarray | float = 1.0

    def shrunk(self) -> np.ndarray:
        """The log exposure applied: each part times its share, none for unknown cells."""
        diff = self.diff - (1.0 - np.asarray(self.s_within)) * self.within
        applied = self.s_level * self.level + self.s_diff * diff
        return np.asarray(np.where(self.unknown, 0.0, applied), float)

    def share(self) -> np.ndarray:
        """The share in [0, 1] of the estimated log correction that is applied."""
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(self.full < 0, self.shrunk() / self.full, 1.0)
        return np.clip(np.nan_to_num(share, nan=0.0), 0.0, 1.0)


def mean_log_exposure(
    theta: np.ndarray, n_c: int, e: np.ndarray, ci: np.ndarray, ki: np.ndarray
) -> tuple[float, np.ndarray]:
    """The mean log exposure of the training cells and its gradient by the rates."""
    grad = np.zeros(len(theta))
    if not len(e):
        return 0.0, grad
    rho, kappa = expit(theta[:n_c])[ci], np.exp(theta[n_c:])[ki]
    full, ja, jb = log_exposure(e, rho, kappa)
    grad[:n_c] = np.bincount(ci, ja, n_c) / len(e)
    grad[n_c:] = np.bincount(ki, jb, len(theta) - n_c) / len(e)
    return float(full.mean()), grad


def wiener(value: np.ndarray | float, var: np.ndarray | float) -> np.ndarray:
    """``value**2 / (value**2 + var)``: the share of an estimate its uncertainty leaves."""
    size = np.square(value)
    var = np.where(np.isfinite(var), np.maximum(var, 0.0), np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(np.where(size > 0, size / (size + var), 1.0), nan=0.0)


def log_exposure(
    e: np.ndarray, rho: np.ndarray, kappa: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log exposure and its derivatives by logit(rho) and log(kappa)."""
    decay = np.exp(-kappa * e)
    expo = rho + (1.0 - rho) * (1.0 - decay)
    d_a = decay * rho * (1.0 - rho) / expo
    d_b = (1.0 - rho) * e * kappa * decay / expo
    return np.log(expo), d_a, d_b


def inverse_information(
    gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray
) -> np.ndarray:
    """Inverse observed information at ``theta`` (central differences of the gradient).

    A direction the data do not inform has (nearly) no information: its variance is huge,
    not an error (a pseudo-inverse, with such directions given a variance of 1e6).
    """
    n, step = len(theta), 1e-4
    hess = np.empty((n, n))
    for j in range(n):
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        hess[:, j] = (gradient(up) - gradient(down)) / (2 * step)
    values, vectors = np.linalg.eigh((hess + hess.T) / 2)
    scale = max(float(np.abs(values).max()), 1.0)
    inverse = np.where(values > 1e-9 * scale, 1.0 / np.maximum(values, 1e-300), 1e6)
    return np.asarray((vectors * np.minimum(inverse, 1e6)) @ vectors.T, float)


def follows_counts(
    log_exposure: np.ndarray,
    past: np.ndarray,
    group: tuple[np.ndarray, ...],
    ci: np.ndarray,
    n_c: int,
) -> np.ndarray:
    """Per country, the share of its cells' log exposure that their past counts predict.

    Within each group (cells alike in every array of ``group``: one country, category and
    period, so only contrasts between cells remain), the log exposure is regressed on
    ``log1p`` of each column of ``past`` (the region's observed counts of the periods just
    before), pooled per country
    (``ci``): the R² of that regression, in [0, 1]. Near 1 where patrols go where counts
    were (the contrast between cells is then set by the counts the forecaster also sees),
    near 0 where effort varies on its own. Countries with too few cells, or no contrast
    between cells, get 0: no evidence of feedback.
    """
    out = np.zeros(n_c)
    if not len(log_exposure):
        return out
    past = np.asarray(past, float).reshape(len(log_exposure), -1)
    ok = np.isfinite(log_exposure) & np.isfinite(past).all(axis=1)
    y, x, c = log_exposure[ok], np.log1p(np.maximum(past[ok], 0.0)), ci[ok]
    keys = pd.DataFrame({str(j): np.asarray(k, object).ravel()[ok] for j, k in enumerate(group)})
    codes = keys.groupby(list(keys), sort=False).ngroup().to_numpy()
    size = np.bincount(codes)[codes]
    y = y - np.bincount(codes, y)[codes] / size
    x = x - np.stack([np.bincount(codes, col)[codes] for col in x.T], axis=1) / size[:, None]
    for j in range(n_c):
        yj, xj = y[c == j], x[c == j]
        total = float(yj @ yj)
        if len(yj) < _MIN_CELLS_PER_PREDICTOR * max(xj.shape[1], 1) or total <= 1e-12 * len(yj):
            continue
        beta = np.linalg.lstsq(xj, yj, rcond=None)[0]
        resid = yj - xj @ beta
        out[j] = float(np.clip(1.0 - (resid @ resid) / total, 0.0, 1.0))
    return out


def bootstrap_intervals(
    draws: np.ndarray, countries: np.ndarray, categories: np.ndarray
) -> dict[str, dict[str, tuple[float, float]]]:
    """90% bootstrap intervals of every rate from replicates of the parameters."""
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    n_c = len(countries)
    return {
        "reporting_rate": {
            str(c): (float(expit(lo[j])), float(expit(hi[j]))) for j, c in enumerate(countries)
        },
        "kappa": {
            str(k): (float(np.exp(lo[n_c + j])), float(np.exp(hi[n_c + j])))
            for j, k in enumerate(categories)
        },
    }


def correction_reason(
    level: float, contrast: float, blocked: bool, cells: int, shrinks: bool
) -> str:
    """Why the correction's level and contrasts are applied as far as they are, in words."""
    if not shrinks:
        return (
            "the effort correction is applied as estimated (shrinking is off, or the model "
            "predates it)"
        )
    if not cells:
        return "no effort correction: no cell has counts to estimate the rates from"
    if blocked:
        why = (
            "rates sit on a bound of the search (not_identified): the split of reported and "
            "detected counts does not identify the common level (patrol effort too low or too "
            "even), so activity is on the counts' scale, corrected cell against cell"
        )
    elif min(level, contrast) >= 0.9:
        why = "the rates are identified: their standard errors are small against the correction"
    else:
        why = (
            "the rates are only partly identified: each part is shrunk toward none by its "
            "uncertainty (standard errors of the rates)"
        )
    return (
        f"{level:.0%} of the effort correction's common level and {contrast:.0%} of its "
        f"contrasts between cells are applied: {why}"
    )


def feedback_reason(follows: dict[str, float], shrinks: bool) -> str:
    """How many countries' patrols follow past counts, and what that does to the correction
    between the cells' past counts (empty where none do). Names no country: the reason is
    shown to every reader, the per-country figures only to those who may see them."""
    n = sum(r2 >= _FOLLOWS for r2 in follows.values()) if shrinks else 0
    if not n:
        return ""
    return (
        f"; patrols follow the counts of the two periods before in {n} of {len(follows)} "
        "countries (follows_counts, the R² of the log exposure on those counts): there the "
        "past counts are corrected between cells only by the spread those counts do not "
        "predict (kept_between_cells, sqrt(1 - R²)), nearer the naive twin's view"
    )
