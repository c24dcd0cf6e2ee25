"""How patrol effort turns underlying activity into observed counts.

Observation model (Poisson thinning): of ``N ~ Poisson(lambda)`` incidents, each comes to
light without a patrol with probability ``rho`` (the reporting rate of the region's country);
each of the others is found by patrols with probability ``1 - exp(-kappa * effort)`` (kappa per
category). Reported and detected counts are then independent Poisson with means
``lambda * rho`` and ``lambda * (1 - rho) * g`` with ``g = 1 - exp(-kappa * effort)``, so the
observed total has mean ``lambda * exposure`` with ``exposure = rho + (1 - rho) * g``.

Conditional on the total of a cell, ``reported`` is binomial with probability
``rho / exposure``, which does not involve ``lambda``. :class:`DetectionModel` maximises that
conditional likelihood over every cell, so rho and kappa are estimated without a model of
activity; effort that varies between cells identifies both.

When effort is low everywhere (``kappa * effort << 1``), ``g`` is nearly ``kappa * effort``
and the split of the totals pins down only the ratio of ``(1 - rho) * kappa`` to ``rho``, so
rho and kappa are hardly identifiable on their own and the corrected activity can be off
by a large factor. ``n_bootstrap`` replicates (cells resampled with replacement, which the
conditional likelihood treats as independent) give an interval for each rate, so that
uncertainty is reported rather than hidden.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator

__all__ = ["DetectionModel"]

_EPS = 1e-9


class DetectionModel(BaseEstimator):
    """Reporting rate per country and detection rate (kappa) per category.

    Parameters
    ----------
    max_kappa
        Upper bound of kappa, per unit-shift.
    n_bootstrap
        Bootstrap replicates for the 90% intervals of every rate (0: none).
    random_state
        Seed of the bootstrap.
    """

    def __init__(
        self, max_kappa: float = 20.0, n_bootstrap: int = 0, random_state: int | None = 0
    ) -> None:
        self.max_kappa = max_kappa
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    def fit(
        self,
        reported: np.ndarray,
        detected: np.ndarray,
        effort: np.ndarray,
        country: np.ndarray,
        category: np.ndarray,
    ) -> DetectionModel:
        """Fit on aligned 1-D arrays, one entry per observed cell; ``NaN`` cells are skipped."""
        reported, detected, effort = (
            np.asarray(a, float).ravel() for a in (reported, detected, effort)
        )
        country = np.asarray(country, object).ravel()
        category = np.asarray(category, object).ravel()
        ok = np.isfinite(reported) & np.isfinite(detected) & np.isfinite(effort)
        ok &= (reported + detected) > 0
        self.countries_ = np.sort(np.unique(country))
        self.categories_ = np.sort(np.unique(category))
        ci = np.searchsorted(self.countries_, country[ok])
        ki = np.searchsorted(self.categories_, category[ok])
        r, d, e = reported[ok], np.maximum(detected[ok], 0.0), np.maximum(effort[ok], 0.0)
        n_c = len(self.countries_)
        theta = self._solve(r, d, e, ci, ki)
        self.intervals_: dict[str, dict[str, tuple[float, float]]] = {}
        if int(self.n_bootstrap) > 0 and len(r):
            rng = np.random.default_rng(self.random_state)
            draws = []
            for _ in range(int(self.n_bootstrap)):
                i = rng.integers(0, len(r), len(r))
                draws.append(self._solve(r[i], d[i], e[i], ci[i], ki[i], start=theta))
            lo, hi = np.quantile(np.array(draws), [0.05, 0.95], axis=0)
            self.intervals_ = {
                "reporting_rate": {
                    str(c): (float(expit(lo[j])), float(expit(hi[j])))
                    for j, c in enumerate(self.countries_)
                },
                "kappa": {
                    str(k): (float(np.exp(lo[n_c + j])), float(np.exp(hi[n_c + j])))
                    for j, k in enumerate(self.categories_)
                },
            }
        # An estimate on a bound of the search is not identified by the data (a degenerate
        # optimum, e.g. rho and kappa both driven to zero when effort is low everywhere).
        bounds = np.array(self._bounds())
        # Within 0.5 on the logit / log scale: a factor of about 1.6 from the bound.
        edge = (np.abs(theta - bounds[:, 0]) < 0.5) | (np.abs(theta - bounds[:, 1]) < 0.5)
        names = [f"reporting_rate[{c}]" for c in self.countries_]
        names += [f"kappa[{k}]" for k in self.categories_]
        self.at_bounds_ = [n for n, e in zip(names, edge, strict=True) if e and len(r)]
        self.reporting_rate_ = dict(zip(self.countries_, expit(theta[:n_c]), strict=True))
        self.kappa_ = dict(zip(self.categories_, np.exp(theta[n_c:]), strict=True))
        self.n_cells_ = int(ok.sum())
        return self

    def _solve(
        self,
        r: np.ndarray,
        d: np.ndarray,
        e: np.ndarray,
        ci: np.ndarray,
        ki: np.ndarray,
        start: np.ndarray | None = None,
    ) -> np.ndarray:
        """Maximum conditional likelihood: logit reporting rates, then log kappas."""
        n_c, n_k = len(self.countries_), len(self.categories_)

        def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            rho = expit(theta[:n_c])[ci]
            kappa = np.exp(theta[n_c:])[ki]
            decay = np.exp(-kappa * e)
            g = np.maximum(1.0 - decay, _EPS)
            expo = rho + (1.0 - rho) * g
            ll = r * np.log(rho) + d * np.log1p(-rho) + d * np.log(g) - (r + d) * np.log(expo)
            d_rho = r / rho - d / (1.0 - rho) - (r + d) * (1.0 - g) / expo
            d_g = d / g - (r + d) * (1.0 - rho) / expo
            grad_a = np.bincount(ci, d_rho * rho * (1.0 - rho), n_c)
            grad_b = np.bincount(ki, d_g * e * decay * kappa, n_k)
            return -float(ll.sum()), -np.concatenate([grad_a, grad_b])

        theta0 = np.concatenate([np.zeros(n_c), np.full(n_k, np.log(0.3))])
        bounds = self._bounds()
        if len(r):
            x0 = theta0 if start is None else start
            res = minimize(nll, x0, jac=True, method="L-BFGS-B", bounds=bounds)
            return np.asarray(res.x, float)
        return theta0

    def _bounds(self) -> list[tuple[float, float]]:
        n_c, n_k = len(self.countries_), len(self.categories_)
        return [(-9.0, 9.0)] * n_c + [(float(np.log(1e-4)), float(np.log(self.max_kappa)))] * n_k

    def exposure(self, effort: np.ndarray, country: np.ndarray, category: np.ndarray) -> np.ndarray:
        """Expected observed share of the activity at ``effort`` (broadcast arrays).

        Countries or categories not seen in training get the mean rate of those seen.
        """
        rho = _lookup(self.reporting_rate_, country)
        kappa = _lookup(self.kappa_, category)
        g = 1.0 - np.exp(-kappa * np.maximum(np.asarray(effort, float), 0.0))
        return rho + (1.0 - rho) * g

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary: kappa per category, reporting rate per country, their 90%
        bootstrap intervals (``intervals90``, empty without bootstrap) and the rates whose
        estimate sits on a bound of the search (``not_identified``)."""
        return {
            "kappa": {str(k): float(v) for k, v in self.kappa_.items()},
            "reporting_rate": {str(k): float(v) for k, v in self.reporting_rate_.items()},
            "effort_unit": "unit-shifts",
            "cells": self.n_cells_,
            "not_identified": list(getattr(self, "at_bounds_", [])),
            "intervals90": {
                kind: {k: [round(lo, 6), round(hi, 6)] for k, (lo, hi) in table.items()}
                for kind, table in getattr(self, "intervals_", {}).items()
            },
        }


def _lookup(table: dict[object, float], keys: np.ndarray) -> np.ndarray:
    default = float(np.mean(list(table.values()))) if table else 0.0
    keys = np.asarray(keys, object)
    idx = pd.Index(list(table)).get_indexer(keys.ravel())
    values = np.append(np.fromiter(table.values(), float, len(table)), default)
    return values[np.where(idx < 0, len(table), idx)].reshape(keys.shape)
