"""Baselines: last value, seasonal naive, moving average and a Poisson GLM.

They forecast the same series as :class:`~models.forecaster.RiskForecaster` (activity when
effort-aware, counts otherwise) and get the same calibrated intervals, so backtests compare
like with like.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from crossplan.models.base import PanelForecaster
from crossplan.models.features import feature_spec, recent_change_features, rolling_mean
from crossplan.models.panel import PanelArrays
from crossplan.models.tabular import FeatureForecaster
from crossplan.optimize.periods import season_length

__all__ = ["GLM_TRAIN_ROWS", "LastValue", "MovingAverage", "PoissonGLM", "SeasonalNaive"]


def _ffill(x: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward along the last axis."""
    idx = np.where(np.isfinite(x), np.arange(x.shape[-1]), 0)
    np.maximum.accumulate(idx, axis=-1, out=idx)
    out = np.take_along_axis(x, idx, axis=-1)
    return out


class _RuleForecaster(PanelForecaster):
    """A forecaster with nothing to fit; ``_rule`` maps history to forecasts."""

    def __init__(
        self,
        effort_aware: bool = True,
        horizon: int = 4,
        calibration_periods: int | None = None,
        detection_bootstrap: int = 0,
    ) -> None:
        self.effort_aware = effort_aware
        self.horizon = horizon
        self.calibration_periods = calibration_periods
        self.detection_bootstrap = detection_bootstrap

    def _rule(self, activity: np.ndarray, data: PanelArrays, h: int) -> np.ndarray:
        raise NotImplementedError

    def _predict_core(self, prep: Any, data: PanelArrays, origins: np.ndarray) -> np.ndarray:
        activity = prep
        out = np.empty((*data.shape[:2], len(origins), int(self.horizon)))
        fallback = np.nan_to_num(_ffill(activity), nan=0.0)
        for h in range(1, int(self.horizon) + 1):
            value = self._rule(activity, data, h)
            value = np.where(np.isfinite(value), value, fallback)
            out[..., h - 1] = value[:, :, origins]
        return out


class LastValue(_RuleForecaster):
    """The last observed value, for every horizon."""

    def _rule(self, activity: np.ndarray, data: PanelArrays, h: int) -> np.ndarray:
        return _ffill(activity)


class SeasonalNaive(_RuleForecaster):
    """The value one seasonal cycle before the target period (last value without seasons)."""

    def _rule(self, activity: np.ndarray, data: PanelArrays, h: int) -> np.ndarray:
        season = season_length(data.frequency)
        back = season - h
        if season <= 1 or back < 0 or back >= activity.shape[-1]:
            return _ffill(activity)  # no season to look back on yet
        out = np.full(activity.shape, np.nan)
        out[..., back:] = activity[..., : activity.shape[-1] - back]
        return out


class MovingAverage(_RuleForecaster):
    """Mean of the last ``window`` observed values."""

    def __init__(
        self,
        effort_aware: bool = True,
        horizon: int = 4,
        window: int = 4,
        calibration_periods: int | None = None,
        detection_bootstrap: int = 0,
    ) -> None:
        super().__init__(effort_aware, horizon, calibration_periods, detection_bootstrap)
        self.window = window

    def _rule(self, activity: np.ndarray, data: PanelArrays, h: int) -> np.ndarray:
        return rolling_mean(activity, int(self.window))


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    # The GLM is linear on the log scale, so counts enter as logs.
    return np.sign(x) * np.log1p(np.abs(x))


#: Rows a Poisson GLM is fitted on at most (a random subset beyond): its few dozen
#: coefficients are as well determined by this many rows as by millions, and the solver's
#: float64 copies of the matrix would otherwise be the largest thing a training holds.
GLM_TRAIN_ROWS = 250_000


class PoissonGLM(FeatureForecaster):
    """A Poisson GLM (log link) on the main model's features, log-transformed.

    ``smooth`` (the default) leaves out the features of how a series moved lately — the
    single lags before the last, the trend and the growth ratios
    (:func:`~models.features.recent_change_features`) — and keeps those of where it stands:
    a model linear in their logs extrapolates a change, and in a sparse cell a short run of
    single incidents then reads as a surge. ``max_train_rows`` (default
    :data:`GLM_TRAIN_ROWS`) caps the rows it is fitted on.
    """

    #: For models pickled before the parameter existed (they were fitted on every feature).
    smooth: bool = False

    def __init__(
        self,
        effort_aware: bool = True,
        horizon: int = 4,
        alpha: float = 1e-2,
        calibration_periods: int | None = None,
        max_train_rows: int | None = GLM_TRAIN_ROWS,
        relative: bool = True,
        detection_bootstrap: int = 0,
        random_state: int | None = 0,
        smooth: bool = True,
    ) -> None:
        self.effort_aware = effort_aware
        self.horizon = horizon
        self.alpha = alpha
        self.smooth = smooth
        self.calibration_periods = calibration_periods
        self.max_train_rows = max_train_rows
        self.relative = relative
        self.detection_bootstrap = detection_bootstrap
        self.random_state = random_state

    def _left_out(self, data: PanelArrays) -> frozenset[str]:
        if not self.smooth:
            return frozenset()
        return recent_change_features(feature_spec(data.frequency))

    def _make_estimator(self) -> Any:
        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            FunctionTransformer(_signed_log1p),
            StandardScaler(),
            PoissonRegressor(alpha=self.alpha, solver="newton-cholesky", max_iter=100),
        )

    def _weight_kwargs(self, weight: np.ndarray) -> dict[str, np.ndarray]:
        return {"poissonregressor__sample_weight": weight}
