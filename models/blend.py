"""A blend: a weighted mean of forecasters, with weights fitted on their past forecasts.

No one model wins everywhere: on a long-tailed yearly panel "same as last year" is hard to
beat for the largest cells, while a learned model does better on the rest; where effort is
low everywhere the effort correction may help or hurt. A blend lets the evidence decide:
its weights minimise the Poisson deviance of the members' backtest forecasts (against
observed counts), so e.g. the share given to the effort-aware model over its naive twin is
how much of the correction the data support.

Intervals of the blend are calibrated on the blend's own held-out forecasts, as each
member's are: every member is fitted with a held-out window at the end of the data, and the
blend of their forecasts there, at the blend's weights, calibrates a
:class:`~models.intervals.CountIntervals` (:func:`blend_calibration`). Averaging the members'
quantiles instead gives intervals too narrow: the members' errors partly cancel in the mean,
but each member's quantiles were made for its own larger errors around its own mean, and
the weighted mean of their quantiles is not a quantile of anything (on two real panels it
covered 72-73% where 80% was promised, on the default synthetic world 71%).

Fitted weights are **pulled toward equal shares** by how little evidence they rest on
(:data:`EQUAL_SHARE_ORIGINS`). A backtest's forecasts are many cells but few origins, and one
origin's errors move together across its cells: weights that minimise the deviance of a
handful of origins follow whichever member had a lucky year (on the real yearly panel, 0.7
of the four-year-ahead weight went to the moving average after two years it did well in,
and the blend then lost to LightGBM for three origins running). Equal shares are the
classic hard-to-beat combination; with few origins the blend stays near them, with many it
follows its fitted weights. The shares are equal among the members a plan may rest on
(``prior``): on a panel with effort, not the naive twin, which forecasts observed counts,
so that its weight is only what the evidence gives it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, clone

from crossplan.models.base import CALIBRATION_COLUMNS, PanelForecaster, RegressorFit, calibrate

__all__ = [
    "EQUAL_SHARE_ORIGINS",
    "BlendForecaster",
    "blend_calibration",
    "blend_weights",
    "held_out_members",
]

_FLOOR = 0.1  # the deviance floor of the metrics, so weights optimise what is scored
#: How many forecast origins equal shares are worth: weights fitted on the forecasts of ``n``
#: origins are ``n / (n + EQUAL_SHARE_ORIGINS)`` of the fitted ones and the rest equal shares.
EQUAL_SHARE_ORIGINS = 8
_CELL = list(CALIBRATION_COLUMNS[:4])  # category, region, target, horizon


def blend_weights(
    actual: np.ndarray,
    predictions: np.ndarray,
    origins: float | None = None,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """Non-negative weights summing to one that minimise the mean Poisson deviance, pulled
    toward ``prior`` when ``origins`` is given.

    Parameters
    ----------
    actual
        Outcomes, shape ``(n,)``.
    predictions
        Member forecasts, shape ``(n, m)``.
    origins
        How many forecast origins the rows come from: the weights are
        ``origins / (origins + EQUAL_SHARE_ORIGINS)`` of the fitted ones and the rest
        ``prior``. ``None`` (or not a finite number) returns the fitted weights themselves.
    prior
        The shares the weights are pulled toward, shape ``(m,)`` (normalised to sum to one):
        by default equal shares.
    """
    y = np.asarray(actual, float)
    p = np.asarray(predictions, float)
    m = p.shape[1]
    if not len(y):  # nothing tells the members apart
        return _pulled(np.full(m, 1.0 / m), None if origins is None else 0.0, prior)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = np.exp(theta - theta.max())
        w /= w.sum()
        mu = p @ w
        floored = np.maximum(mu, _FLOOR)
        value = float(np.mean(floored - y * np.log(floored)))
        d_mu = np.where(mu > _FLOOR, 1.0 - y / floored, 0.0) / len(y)
        d_w = p.T @ d_mu
        return value, w * (d_w - float(w @ d_w))

    res = minimize(loss, np.zeros(m), jac=True, method="L-BFGS-B", bounds=[(-20, 20)] * m)
    w = np.exp(res.x - res.x.max())
    w /= w.sum()
    w[w < 1e-3] = 0.0  # members that add nothing (and have no prior share) are not fitted
    return _pulled(w / w.sum(), origins, prior)


def _pulled(w: np.ndarray, origins: float | None, prior: np.ndarray | None) -> np.ndarray:
    """``w`` pulled toward ``prior`` by the evidence of ``origins`` (see :func:`blend_weights`)."""
    m = len(w)
    if origins is None or not np.isfinite(origins):
        return w
    target = np.full(m, 1.0 / m) if prior is None else np.asarray(prior, float)
    if target.shape != (m,) or (target < 0).any() or not target.sum() > 0:
        raise ValueError(f"the prior of a blend needs {m} non-negative shares, got {prior}")
    n = max(float(origins), 0.0)
    fitted = n / (n + EQUAL_SHARE_ORIGINS)
    return fitted * w + (1.0 - fitted) * target / target.sum()


def blend_calibration(held_out: list[pd.DataFrame], weights: np.ndarray) -> pd.DataFrame:
    """The blend's held-out forecasts from its members' (:data:`~models.base.CALIBRATION_COLUMNS`).

    Parameters
    ----------
    held_out
        Each member's held-out forecasts, in the order of the weights' columns.
    weights
        One row per horizon 1..H, one column per member.

    Rows are the cells every member forecast (the members of a blend share the window, so
    that is all of them); the mean is the weighted mean of the members' at the row's horizon.
    """
    w = np.asarray(weights, float)
    merged, means = held_out_members(held_out)
    step = np.minimum(merged["horizon"].to_numpy(int), len(w)) - 1
    merged["mean"] = np.einsum("ij,ij->i", means, w[step]) if len(merged) else 0.0
    return merged[list(CALIBRATION_COLUMNS)]


def held_out_members(held_out: list[pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray]:
    """The cells every member forecast in its held-out window, with their outcome, and the
    members' forecasts there (one column per member, in ``held_out``'s order).

    Returns
    -------
    tuple
        The cells (:data:`~models.base.CALIBRATION_COLUMNS` but the mean) and the forecasts,
        shape ``(cells, members)``.
    """
    merged = held_out[0][[*_CELL, "actual", "mean"]].rename(columns={"mean": "m0"})
    for j, frame in enumerate(held_out[1:], start=1):
        merged = merged.merge(
            frame[[*_CELL, "mean"]].rename(columns={"mean": f"m{j}"}), on=_CELL, how="inner"
        )
    names = [f"m{j}" for j in range(len(held_out))]
    return merged.drop(columns=names), merged[names].to_numpy(float)


class BlendForecaster(PanelForecaster):
    """Weighted mean of member forecasters (each fitted on the same data).

    Parameters
    ----------
    members
        ``(name, forecaster)`` pairs, unfitted.
    weights
        One row per horizon 1..``horizon``: the weight of each member, in order
        (non-negative; each row normalised to sum to one).
    horizon
        Largest horizon; every member must forecast at least this far.
    """

    def __init__(
        self,
        members: list[tuple[str, PanelForecaster]] | None = None,
        weights: list[list[float]] | None = None,
        horizon: int = 4,
    ) -> None:
        self.members = members
        self.weights = weights
        self.horizon = horizon

    def _weights(self) -> np.ndarray:
        w = np.asarray(self.weights, float)
        if w.ndim != 2 or w.shape[0] < int(self.horizon):
            raise ValueError(f"a blend needs one row of weights per horizon, got {self.weights}")
        return w[: int(self.horizon)] / w[: int(self.horizon)].sum(axis=1, keepdims=True)

    def fit(
        self,
        panel: pd.DataFrame,
        regions: pd.DataFrame | None = None,
        adjacency: pd.DataFrame | None = None,
        *,
        frequency: str | None = None,
        fitter: RegressorFit | None = None,
    ) -> BlendForecaster:
        """Fit every member with a positive weight on the same data (each regressor through
        ``fitter``, see :meth:`PanelForecaster.fit`)."""
        members = list(self.members or [])
        if not members or self.weights is None:
            raise ValueError("a blend needs members and their weights")
        w = self._weights()
        if w.shape[1] != len(members) or (w < 0).any() or not np.isfinite(w).all():
            raise ValueError(f"blend weights must be non-negative, one per member: {self.weights}")
        used = w.max(axis=0) > 0
        self.members_ = [
            (name, clone(m).set_params(horizon=self.horizon).fit(
                panel, regions, adjacency, frequency=frequency, fitter=fitter))
            for (name, m), keep in zip(members, used, strict=True) if keep
        ]  # fmt: skip
        self.weights_ = w[:, used]
        self.calibration_ = blend_calibration(
            [m.calibration_ for _, m in self.members_], self.weights_
        )
        self.intervals_ = calibrate(self.calibration_)
        first = self.members_[0][1]
        self.frequency_, self.regions_, self.categories_ = (
            first.frequency_, first.regions_, first.categories_
        )  # fmt: skip
        targets = {m.target_ for _, m in self.members_}
        self.target_ = "activity" if "activity" in targets else "counts"
        self.last_period_, self.n_periods_ = first.last_period_, first.n_periods_
        return self

    def predict(
        self,
        panel: pd.DataFrame,
        horizon: int | None = None,
        regions: list[str] | None = None,
        categories: list[str] | None = None,
    ) -> pd.DataFrame:
        """The weighted mean of the members' forecasts, with the blend's own quantiles."""
        tables = [m.predict(panel, horizon, regions, categories) for _, m in self.members_]
        out = tables[0].copy()
        steps = np.searchsorted(np.sort(out["period"].unique()), out["period"].to_numpy())
        mean = self.blend_means([t["activity_mean"].to_numpy(float) for t in tables], steps + 1)
        out["activity_mean"] = mean
        levels = ("q10", "q50", "q90")
        if hasattr(self, "intervals_"):
            q = self.intervals_.quantiles(mean, steps + 1)
        else:  # a blend fitted before it had intervals of its own: its members' mean
            q = {
                lv: self.blend_means(
                    [t[f"activity_{lv}"].to_numpy(float) for t in tables], steps + 1
                )
                for lv in levels
            }
        for lv in levels:
            out[f"activity_{lv}"] = q[lv]
        kappa = [
            t["detection_rate"]
            for (_, m), t in zip(self.members_, tables, strict=True)
            if m.target_ == "activity"
        ]
        out["detection_rate"] = kappa[0] if kappa else np.nan
        return out

    def blend_means(self, means: list[np.ndarray], horizon: np.ndarray) -> np.ndarray:
        """The weighted mean of the members' forecasts (in member order) at each horizon."""
        step = np.asarray(horizon, int) - 1
        return np.asarray(
            sum(self.weights_[step, j] * np.asarray(m, float) for j, m in enumerate(means)), float
        )

    def weighted_members(self) -> list[tuple[np.ndarray, PanelForecaster]]:
        """Each fitted member with its weight per horizon (to score each against observations)."""
        return [(self.weights_[:, j], m) for j, (_, m) in enumerate(self.members_)]

    def expected_observations(self, forecast: pd.DataFrame, effort: pd.Series) -> pd.DataFrame:
        """Not defined on the blended table: use :meth:`weighted_members` and each member's.

        Raises
        ------
        TypeError
            Always: the expected observations of a blend depend on each member's own forecast
            (an effort-aware member's is scaled by exposure, a count member's is not).
        """
        raise TypeError(
            "a blend's expected observations are the weighted sum of its members': "
            "weight each member's expected_observations (weighted_members)"
        )

    def detection_summary(self) -> dict[str, Any]:
        """The effort-aware member's detection model, with the blend's weights."""
        summary: dict[str, Any] = {"target": "counts", "kappa": {}, "reporting_rate": {}}
        for _, m in self.members_:
            if m.target_ == "activity":
                summary = m.detection_summary()
                break
        summary["blend_weights"] = {
            name: [round(float(w), 4) for w in self.weights_[:, j]]
            for j, (name, _) in enumerate(self.members_)
        }
        return summary

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        # Members are listed by name only: nested estimators are not tuned through the blend.
        return BaseEstimator.get_params(self, deep=False)
