"""The main forecaster: LightGBM with a Poisson objective on the features, effort-aware."""

from __future__ import annotations

from typing import Any

import numpy as np
from lightgbm import LGBMRegressor

from crossplan.models.tabular import FeatureForecaster

__all__ = ["LGBM_TRAIN_ROWS", "RiskForecaster"]

#: Rows a LightGBM candidate is fitted on at most (a seeded random subset beyond). Boosting
#: time grows with the rows; 15-leaf trees on a few dozen features learn as much from a
#: million rows as from the six million of a 5,000-region weekly panel.
LGBM_TRAIN_ROWS = 1_000_000


class RiskForecaster(FeatureForecaster):
    """Forecast activity per region, category and period, horizons 1..``horizon``.

    Parameters
    ----------
    effort_aware
        Forecast underlying activity, correcting observed counts for patrol effort with a
        fitted detection model. ``False`` treats ``reported + detected`` as if it were the
        truth (the naive model); count-only panels are always forecast as counts.
    horizon
        Largest horizon, in periods.
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree
        LightGBM settings.
    calibration_periods
        Periods held out at the end of training to calibrate the intervals; ``None`` picks
        ``min(26, max(2 * horizon, periods // 6))``; 0 disables calibration.
    relative
        Learn the ratio of coming activity to each cell's recent level (see
        :mod:`models.tabular`); ``False`` learns absolute activity.
    max_train_rows
        Fit on a random subset of this many rows when there are more (default
        :data:`LGBM_TRAIN_ROWS`; ``None``: every row).
    detection_bootstrap
        Bootstrap replicates for 90% intervals of the detection model's rates (reported in
        :meth:`detection_summary`); 0 skips them, as backtests do.
    shrink_correction
        Shrink the effort correction by its uncertainty (:mod:`models.detection`); ``False``
        applies it as estimated (to measure what the shrinkage changes).
    n_jobs
        LightGBM threads. One by default: on a shared 2-core machine, LightGBM's OpenMP
        threads wait for each other so badly that two can be many times slower than one.
    random_state
        Seed of LightGBM's bagging and of the row subset.
    """

    def __init__(
        self,
        effort_aware: bool = True,
        horizon: int = 4,
        n_estimators: int = 150,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        calibration_periods: int | None = None,
        max_train_rows: int | None = LGBM_TRAIN_ROWS,
        relative: bool = True,
        detection_bootstrap: int = 0,
        shrink_correction: bool = True,
        n_jobs: int | None = 1,
        random_state: int | None = 0,
    ) -> None:
        self.effort_aware = effort_aware
        self.horizon = horizon
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.calibration_periods = calibration_periods
        self.max_train_rows = max_train_rows
        self.relative = relative
        self.detection_bootstrap = detection_bootstrap
        self.shrink_correction = shrink_correction
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make_estimator(self) -> Any:
        return LGBMRegressor(
            objective="poisson",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=1.0,
            # A leaf must hold about one expected incident, and no tree moves a forecast by
            # more than a factor e: with weights that span orders of magnitude, a leaf of a
            # few tiny-level cells could otherwise multiply its forecasts without bound.
            min_child_weight=1.0,
            max_delta_step=1.0,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            verbose=-1,
        )

    @property
    def feature_importances_(self) -> np.ndarray:
        """Total gain of each feature in :attr:`feature_names_` order."""
        booster = self.estimator_.booster_
        return np.asarray(booster.feature_importance(importance_type="gain"), float)
