"""How sure the effort correction is: the uncertainty of a detection model's log exposure.

:class:`~models.detection.DetectionModel` applies each part of a cell's log exposure in
proportion to how well the data identify it (see its module). The pieces of that
calculation live here: the inverse observed information of its likelihood, the log
exposure and its derivatives by the parameters, the common level over the training cells,
and the Wiener factor that turns a part and its variance into the share applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

__all__ = ["Parts", "inverse_information", "log_exposure", "mean_log_exposure", "wiener"]


@dataclass(frozen=True)
class Parts:
    """A cell's log exposure ``full = level + diff`` and the share of each part applied."""

    full: np.ndarray
    level: float
    s_level: float
    diff: np.ndarray
    s_diff: np.ndarray
    unknown: np.ndarray

    def shrunk(self) -> np.ndarray:
        """The log exposure applied: each part times its share, none for unknown cells."""
        applied = self.s_level * self.level + self.s_diff * self.diff
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
