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

The correction steps back where it is not identified. The standard errors of the rates
(the inverse of the observed information of the same conditional likelihood: evidence in
the data, not in any truth) give a variance (delta method) to each part of a cell's log
exposure ``L``: the common level ``Lbar`` (its mean over the training cells) and the cell's
difference from it, ``L - Lbar``. Each part ``x`` with variance ``v`` is applied as
``s * x`` with ``s = x**2 / (x**2 + v)``: all of a part that is large against its
uncertainty, little of one that is not (the weight a normal prior of the part's own size
would give the estimate: the Wiener, or James-Stein, factor). When effort is low
everywhere every rate can scale together, so the level is not identified and is dropped
(always so when a rate sits on a bound, ``not_identified``), while the differences between
cells that the split of the counts still pins down are kept: activity is then on the
counts' scale, corrected cell against cell. Unknown countries and categories get no
correction.

Patrols that follow past counts are a second limit, on the correction of *past* counts.
Effort is set before a period's incidents, so the split of its counts still identifies the
rates; but where a country sends its shifts where counts were high the periods before, a
cell's difference from the country's mean log exposure is largely set by those counts: the
corrected series divides each count by a function of the counts before it, and the features
built from it mix the two (a count after quiet weeks, met by few patrols, is inflated most).
:func:`~models.identification.follows_counts` measures it per country, from the data only:
the R² of the cells' log exposure on their region's observed counts of the two periods
before (``log1p``), within each country, category and period. Past counts are then
corrected between a country's cells only by ``sqrt(1 - R²)`` of that difference (the spread
of the part the counts do not predict; ``exposure(history=True)``): near 0 where patrols
follow counts (the naive twin's view of the cells, on activity's scale, with the levels of
countries still corrected), whole where effort varies on its own. The expected observations
at a given effort (the targets' offset, plans, coverage) keep the detection model's exposure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator

from crossplan.models.identification import (
    Parts,
    bootstrap_intervals,
    correction_reason,
    feedback_reason,
    follows_counts,
    inverse_information,
    log_exposure,
    mean_log_exposure,
    wiener,
)

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
    shrink
        Whether :meth:`exposure` shrinks the correction by its uncertainty by default.
    """

    #: For models pickled before the parameter existed (they shrink where they can).
    shrink: bool = True

    def __init__(
        self,
        max_kappa: float = 20.0,
        n_bootstrap: int = 0,
        random_state: int | None = 0,
        shrink: bool = True,
    ) -> None:
        self.max_kappa = max_kappa
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.shrink = shrink

    def fit(
        self,
        reported: np.ndarray,
        detected: np.ndarray,
        effort: np.ndarray,
        country: np.ndarray,
        category: np.ndarray,
        *,
        past: np.ndarray | None = None,
        period: np.ndarray | None = None,
    ) -> DetectionModel:
        """Fit on aligned arrays, one entry per observed cell; ``NaN`` cells are skipped.

        ``past`` (one column per lag, ``NaN`` where unknown) holds the observed counts of
        each cell's region in the periods just before it and ``period`` each cell's period:
        with both, :attr:`follows_counts_` measures how far patrols follow past counts, and
        that much of the correction between a country's cells steps back (module notes).
        """
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
            self.intervals_ = bootstrap_intervals(
                np.array(draws), self.countries_, self.categories_
            )
        # An estimate on a bound of the search is not identified by the data (a degenerate
        # optimum, e.g. rho and kappa both driven to zero when effort is low everywhere).
        bounds = np.array(self._bounds())
        # Within 0.5 on the logit / log scale: a factor of about 1.6 from the bound.
        edge = (np.abs(theta - bounds[:, 0]) < 0.5) | (np.abs(theta - bounds[:, 1]) < 0.5)
        names = [f"reporting_rate[{c}]" for c in self.countries_]
        names += [f"kappa[{k}]" for k in self.categories_]
        self.at_bounds_ = [n for n, e in zip(names, edge, strict=True) if e and len(r)]
        self.theta_ = theta
        self.level_ = mean_log_exposure(theta, len(self.countries_), e, ci, ki)
        self.covariance_ = (
            inverse_information(lambda t: self._nll(t, r, d, e, ci, ki)[1], theta)
            if len(r)
            else np.eye(len(theta)) * 1e6
        )
        self.reporting_rate_ = dict(zip(self.countries_, expit(theta[:n_c]), strict=True))
        self.kappa_ = dict(zip(self.categories_, np.exp(theta[n_c:]), strict=True))
        self.n_cells_ = int(ok.sum())
        # Each country's mean log exposure over the training cells, and how far its patrols
        # follow past counts: that much of its cells' difference from the mean steps back.
        full = log_exposure(e, expit(theta[:n_c])[ci], np.exp(theta[n_c:])[ki])[0]
        self.country_level_ = np.bincount(ci, full, n_c) / np.maximum(np.bincount(ci, None, n_c), 1)
        self.follows_counts_ = _follows(self, effort, country, category, past, period)
        self.applied_, self.applied_by_country_, self.level_applied_, self.contrast_applied_ = (
            _applied(self, r + d, e, ci, ki)
        )
        return self

    def _nll(
        self,
        theta: np.ndarray,
        r: np.ndarray,
        d: np.ndarray,
        e: np.ndarray,
        ci: np.ndarray,
        ki: np.ndarray,
    ) -> tuple[float, np.ndarray]:
        """Negative conditional log-likelihood and its gradient (logit rates, log kappas)."""
        n_c, n_k = len(self.countries_), len(self.categories_)
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
        theta0 = np.concatenate([np.zeros(n_c), np.full(n_k, np.log(0.3))])
        if len(r):
            x0 = theta0 if start is None else start
            res = minimize(
                self._nll, x0, args=(r, d, e, ci, ki), jac=True, method="L-BFGS-B",
                bounds=self._bounds(),
            )  # fmt: skip
            return np.asarray(res.x, float)
        return theta0

    def _bounds(self) -> list[tuple[float, float]]:
        n_c, n_k = len(self.countries_), len(self.categories_)
        return [(-9.0, 9.0)] * n_c + [(float(np.log(1e-4)), float(np.log(self.max_kappa)))] * n_k

    def exposure(
        self,
        effort: np.ndarray,
        country: np.ndarray,
        category: np.ndarray,
        *,
        shrink: bool | None = None,
        history: bool = False,
    ) -> np.ndarray:
        """Expected observed share of the activity at ``effort`` (broadcast arrays).

        With ``shrink`` (the model's ``shrink`` when ``None``) the correction is shrunk toward
        none by its uncertainty (see the module's notes), so a cell more exposed than the
        typical one can get an exposure above 1 when the common level is dropped;
        ``shrink=False`` gives the estimate. Countries or categories not seen in training get
        the mean rate of those seen, and no correction when shrinking. ``history`` gives the
        exposure that corrects past counts: each cell's difference from its country's mean
        also steps back as far as that country's patrols follow past counts.
        """
        if shrink is None:
            shrink = bool(getattr(self, "shrink", True))
        if not shrink or getattr(self, "covariance_", None) is None:  # as estimated
            e = np.maximum(np.asarray(effort, float), 0.0)
            rho, kappa = _lookup(self.reporting_rate_, country), _lookup(self.kappa_, category)
            return np.exp(log_exposure(e, rho, kappa)[0])
        return np.exp(_parts(self, effort, country, category, history).shrunk())

    def shrinkage(
        self, effort: np.ndarray, country: np.ndarray, category: np.ndarray, *,
        history: bool = False,
    ) -> np.ndarray:  # fmt: skip
        """The share in [0, 1] of each cell's log correction that is applied."""
        if not self._shrinks():  # rates set by hand, or shrinking off: as estimated
            return np.ones(np.broadcast_shapes(np.shape(effort), np.shape(country),
                                               np.shape(category)))  # fmt: skip
        return _parts(self, effort, country, category, history).share()

    def kept_between_cells(self) -> dict[str, float]:
        """Per country, the share of the correction between its cells that past counts are
        corrected with: ``sqrt(1 - R²)``, R² from :attr:`follows_counts_` (1 when not
        shrinking)."""
        follows = getattr(self, "follows_counts_", {}) if self._shrinks() else {}
        return {str(c): float(np.sqrt(1.0 - np.clip(follows.get(str(c), 0.0), 0.0, 1.0)))
                for c in self.countries_}  # fmt: skip

    def _shrinks(self) -> bool:
        return bool(getattr(self, "shrink", True)) and hasattr(self, "covariance_")

    def correction(self) -> dict[str, object]:
        """How much of the effort correction is applied, per country, and why."""
        applied = float(getattr(self, "applied_", 1.0))
        return {
            "applied": round(applied, 4),
            "level_applied": round(float(getattr(self, "level_applied_", applied)), 4),
            "contrast_applied": round(float(getattr(self, "contrast_applied_", applied)), 4),
            "applied_by_country": {
                k: round(v, 4) for k, v in getattr(self, "applied_by_country_", {}).items()
            },
            "follows_counts": {
                k: round(v, 4) for k, v in getattr(self, "follows_counts_", {}).items()
            },
            "kept_between_cells": {k: round(v, 4) for k, v in self.kept_between_cells().items()},
            "reason": correction_reason(
                float(getattr(self, "level_applied_", applied)),
                float(getattr(self, "contrast_applied_", applied)),
                bool(getattr(self, "at_bounds_", [])),
                int(getattr(self, "n_cells_", 0)),
                self._shrinks(),
            )
            + feedback_reason(getattr(self, "follows_counts_", {}), self._shrinks()),
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary: kappa per category, reporting rate per country, their 90%
        bootstrap intervals (``intervals90``, empty without bootstrap), the rates whose
        estimate sits on a bound of the search (``not_identified``) and how much of the
        correction is applied (``correction``)."""
        return {
            "kappa": {str(k): float(v) for k, v in self.kappa_.items()},
            "reporting_rate": {str(k): float(v) for k, v in self.reporting_rate_.items()},
            "effort_unit": "unit-shifts",
            "cells": self.n_cells_,
            "not_identified": list(getattr(self, "at_bounds_", [])),
            "correction": self.correction(),
            "intervals90": {
                kind: {k: [round(lo, 6), round(hi, 6)] for k, (lo, hi) in table.items()}
                for kind, table in getattr(self, "intervals_", {}).items()
            },
        }


def _parts(
    model: DetectionModel,
    effort: np.ndarray,
    country: np.ndarray,
    category: np.ndarray,
    history: bool = False,
) -> Parts:
    """Each cell's log exposure in parts, with the share of each part that is applied.

    The log exposure ``L`` is split into the common level ``Lbar`` (its mean over the
    training cells) and each cell's difference from it, ``L - Lbar``. Low effort
    everywhere leaves the common level unidentified (every rate can scale together)
    while the differences (between countries' reporting rates, between efforts) are
    still pinned down by the split of the counts: each part is shrunk by its own
    uncertainty, so cells are still corrected against each other where the overall
    level is not.
    """
    cov = model.covariance_
    e = np.maximum(np.asarray(effort, float), 0.0)
    rho = _lookup(model.reporting_rate_, country)
    kappa = _lookup(model.kappa_, category)
    full, ja, jb = log_exposure(e, rho, kappa)
    n_c = len(model.countries_)
    ci = _index(model.countries_, country)
    ki = _index(model.categories_, category)
    a = np.where(ci < 0, 0, ci)
    b = np.where(ki < 0, 0, n_c + ki)
    # A model fitted before the level was kept: no level, each cell's correction alone.
    level, grad = getattr(model, "level_", None) or (0.0, np.zeros(len(cov)))
    pull = cov @ grad  # Sigma @ grad(Lbar)
    with np.errstate(invalid="ignore"):
        own = ja**2 * cov[a, a] + jb**2 * cov[b, b] + 2 * ja * jb * cov[a, b]
        var_level = float(grad @ pull)
        var_diff = own - 2 * (ja * pull[a] + jb * pull[b]) + var_level
    unknown = (ci < 0) | (ki < 0)
    s_level = 0.0 if model.at_bounds_ else wiener(level, var_level)
    diff = full - level
    s_diff = np.where(unknown, 0.0, wiener(diff, var_diff))
    if not history:
        return Parts(full, level, float(s_level), diff, s_diff, unknown)
    # Where patrols follow past counts, a cell's difference from its country's mean log
    # exposure in the past is set by the counts before it: only the spread they do not
    # predict corrects the counts the forecasts are built from.
    keep = np.append(np.fromiter(model.kept_between_cells().values(), float, n_c), 1.0)
    country_level = np.append(getattr(model, "country_level_", np.zeros(n_c)), 0.0)
    at = np.where(ci < 0, n_c, ci)
    within = np.where(unknown, 0.0, full - country_level[at])
    return Parts(full, level, float(s_level), diff, s_diff, unknown, within, keep[at])


def _applied(
    model: DetectionModel, weight: np.ndarray, e: np.ndarray, ci: np.ndarray, ki: np.ndarray
) -> tuple[float, dict[str, float], float, float]:
    """How much of the correction the training cells get, weighted by their counts: in all,
    per country, of the common level, and of the contrasts between cells."""
    total = float(weight.sum())
    if not len(weight) or total <= 0:
        return 0.0, dict.fromkeys(map(str, model.countries_), 0.0), 0.0, 0.0
    country, category = model.countries_[ci], model.categories_[ki]
    if not model._shrinks():
        return 1.0, _by_country(np.ones(len(weight)), weight, ci, model.countries_), 1.0, 1.0
    parts = _parts(model, e, country, category, history=True)
    share = parts.share()
    contrast = float(np.broadcast_to(parts.s_diff, weight.shape) @ weight / total)
    by_country = _by_country(share, weight, ci, model.countries_)
    return float(share @ weight / total), by_country, parts.s_level, contrast


def _by_country(
    share: np.ndarray, weight: np.ndarray, ci: np.ndarray, countries: np.ndarray
) -> dict[str, float]:
    """The count-weighted share of the correction applied to each country's cells."""
    return {
        str(c): float(share[ci == j] @ weight[ci == j] / max(weight[ci == j].sum(), _EPS))
        for j, c in enumerate(countries)
    }


def _follows(
    model: DetectionModel,
    effort: np.ndarray,
    country: np.ndarray,
    category: np.ndarray,
    past: np.ndarray | None,
    period: np.ndarray | None,
) -> dict[str, float]:
    """Per country, how far the log exposure between its cells follows past counts."""
    if past is None or period is None:
        return {}
    rho, kappa = _lookup(model.reporting_rate_, country), _lookup(model.kappa_, category)
    full = log_exposure(np.maximum(effort, 0.0), rho, kappa)[0]
    ci = _index(model.countries_, country)
    r2 = follows_counts(
        full, past, (ci, category, np.asarray(period).ravel()), ci, len(model.countries_)
    )
    return {str(c): float(v) for c, v in zip(model.countries_, r2, strict=True)}


def _index(known: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each key among ``known`` (sorted), -1 where unknown."""
    keys = np.asarray(keys, object)
    idx = pd.Index(list(known)).get_indexer(keys.ravel())
    return idx.reshape(keys.shape)


def _lookup(table: dict[object, float], keys: np.ndarray) -> np.ndarray:
    default = float(np.mean(list(table.values()))) if table else 0.0
    keys = np.asarray(keys, object)
    idx = pd.Index(list(table)).get_indexer(keys.ravel())
    values = np.append(np.fromiter(table.values(), float, len(table)), default)
    return values[np.where(idx < 0, len(table), idx)].reshape(keys.shape)
