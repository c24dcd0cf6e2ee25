"""What every panel forecaster shares: effort correction, calibration and the forecast table.

A forecaster forecasts the *underlying activity* when it is effort-aware and the panel has
``reported``, ``detected`` and ``effort``: a :class:`~models.detection.DetectionModel` gives
each cell's exposure (the expected observed share of its activity at the effort spent), the
history becomes ``observed / exposure``, and models are fitted to observed counts with that
exposure as a Poisson offset. Otherwise (count-only panels, or ``effort_aware=False``) it
forecasts observed counts, and says so in ``target_``.

Intervals are calibrated on a held-out window at the end of the training data: the model is
first fitted without it, its forecasts there give the interval calibration, and then it is
fitted again on everything.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from crossplan.models.detection import DetectionModel
from crossplan.models.errors import PanelError
from crossplan.models.features import RegionContext, region_context
from crossplan.models.intervals import CountIntervals
from crossplan.models.panel import PanelArrays, to_arrays
from crossplan.optimize.periods import future_periods

__all__ = ["CALIBRATION_COLUMNS", "PanelForecaster", "RegressorFit", "calibrate", "fit_here"]

#: Held-out forecasts a model's intervals are calibrated on (``calibration_``): indices of
#: category, region and target period in the training panel, the horizon, the observed
#: outcome and the forecast expected observation.
CALIBRATION_COLUMNS = ("category", "region", "target", "horizon", "actual", "mean")


class RegressorFit(Protocol):
    """Fits a forecaster's regressor on its training matrix and returns it fitted.

    The forecaster builds the matrix; where the regressor learns from it is the caller's
    choice: :func:`fit_here` by default, or across the workers of a cluster (the pipelines'
    ``DaskFit``), as long as what comes back predicts like the regressor given.
    """

    def __call__(self, estimator: Any, x: np.ndarray, y: np.ndarray, **fit_params: Any) -> Any:
        """``estimator`` fitted on rows ``x`` and labels ``y`` (``fit_params``: its weights)."""
        ...


def fit_here(estimator: Any, x: np.ndarray, y: np.ndarray, **fit_params: Any) -> Any:
    """The regressor fitted in this process: ``estimator.fit(x, y, **fit_params)``."""
    return estimator.fit(x, y, **fit_params)


def _no_calibration() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in CALIBRATION_COLUMNS})


def calibrate(held_out: pd.DataFrame) -> CountIntervals:
    """Intervals calibrated on held-out forecasts (:data:`CALIBRATION_COLUMNS`; may be empty)."""
    return CountIntervals().fit(
        held_out["actual"].to_numpy(float),
        held_out["mean"].to_numpy(float),
        held_out["horizon"].to_numpy(int),
    )


class PanelForecaster(BaseEstimator):
    """Base class: subclasses implement ``_prepare``, ``_fit_core`` and ``_predict_core``.

    Subclasses define ``effort_aware``, ``horizon`` and ``calibration_periods`` parameters.
    """

    effort_aware: bool
    horizon: int
    calibration_periods: int | None
    #: Bootstrap replicates of the detection model's intervals (a parameter where offered).
    detection_bootstrap: int = 0
    #: Shrink the effort correction by its uncertainty (a parameter where offered).
    shrink_correction: bool = True

    # -- subclass hooks -------------------------------------------------------------
    def _prepare(self, data: PanelArrays, activity: np.ndarray) -> Any:
        """Whatever ``_fit_core`` and ``_predict_core`` need (e.g. feature arrays)."""
        return activity

    def _fit_core(
        self,
        prep: Any,
        data: PanelArrays,
        exposure: np.ndarray,
        last: int,
        fitter: RegressorFit = fit_here,
    ) -> None:
        """Fit on targets up to period index ``last`` (inclusive); a regressor through
        ``fitter``."""

    def _predict_core(self, prep: Any, data: PanelArrays, origins: np.ndarray) -> np.ndarray:
        """Activity forecasts of shape ``(C, R, len(origins), horizon)``."""
        raise NotImplementedError

    # -- public API -----------------------------------------------------------------
    def fit(
        self,
        panel: pd.DataFrame,
        regions: pd.DataFrame | None = None,
        adjacency: pd.DataFrame | None = None,
        *,
        frequency: str | None = None,
        fitter: RegressorFit | None = None,
    ) -> PanelForecaster:
        """Fit on a long panel; ``regions`` and ``adjacency`` add static and spatial features.

        ``fitter`` fits a feature model's regressor on the training matrix
        (:class:`RegressorFit`; :func:`fit_here` by default).
        """
        if int(self.horizon) < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        data = to_arrays(panel, frequency=frequency)
        self.frequency_ = data.frequency
        self.regions_ = data.regions
        self.categories_ = data.categories
        self.context_ = region_context(data.regions, regions, adjacency)
        self.target_ = "activity" if self.effort_aware and data.has_effort else "counts"
        if self.target_ == "activity":
            self.detection_ = self._fit_detection(data, self.context_)
        activity, exposure = self._activity(data)
        prep = self._prepare(data, activity)
        t_n = data.shape[2]
        window = self._calibration_window(t_n)
        self.calibration_ = _no_calibration()
        if window:
            self._fit_core(prep, data, exposure, t_n - 1 - window, fitter or fit_here)
            self.calibration_ = self._held_out(prep, data, exposure, window)
        self.intervals_ = calibrate(self.calibration_)
        self._fit_core(prep, data, exposure, t_n - 1, fitter or fit_here)
        self.last_period_ = data.periods[-1]
        self.n_periods_ = t_n
        return self

    def predict(
        self,
        panel: pd.DataFrame,
        horizon: int | None = None,
        regions: list[str] | None = None,
        categories: list[str] | None = None,
    ) -> pd.DataFrame:
        """Forecast the ``horizon`` periods after the panel's last period.

        Returns
        -------
        DataFrame
            :data:`optimize.forecast.FORECAST_COLUMNS`, one row per (region, category, future period).
        """
        h_max = int(self.horizon if horizon is None else horizon)
        if not 1 <= h_max <= int(self.horizon):
            raise ValueError(f"horizon must be between 1 and {self.horizon}, got {h_max}")
        data = to_arrays(
            panel, frequency=self.frequency_, regions=self.regions_, categories=self.categories_
        )
        if self.target_ == "activity" and not data.has_effort:
            raise PanelError(
                "this model corrects for effort: the panel needs reported, detected, effort"
            )
        activity, _ = self._activity(data)
        prep = self._prepare(data, activity)
        mean = self._predict_core(prep, data, np.array([data.shape[2] - 1]))[:, :, 0, :h_max]
        return self._table(mean, data.periods[-1], regions, categories)

    def expected_observations(self, forecast: pd.DataFrame, effort: pd.Series) -> pd.DataFrame:
        """Expected observed counts and their 80% interval at the effort actually spent.

        Parameters
        ----------
        forecast
            A table from :meth:`predict`, with a ``horizon`` column added.
        effort
            Effort per forecast row (aligned with ``forecast``); ignored for count models.
        """
        mean = forecast["activity_mean"].to_numpy(float)
        if self.target_ == "activity":
            country = self._country_of(forecast["region_id"].astype(str).to_numpy(object))
            mean = mean * self.detection_.exposure(
                effort.to_numpy(float), country, forecast["category"].to_numpy(object)
            )
        q = self.intervals_.quantiles(mean, forecast["horizon"].to_numpy(int))
        return pd.DataFrame({"mean": mean, "q10": q["q10"], "q90": q["q90"]}, forecast.index)

    def detection_summary(self) -> dict[str, Any]:
        """Fitted detection model (kappa per category, reporting rate per country) or counts."""
        if self.target_ != "activity":
            return {"target": "counts", "kappa": {}, "reporting_rate": {}}
        return {"target": "activity", **self.detection_.to_dict()}

    # -- helpers --------------------------------------------------------------------
    def _country_of(self, region_ids: np.ndarray) -> np.ndarray:
        idx = pd.Index(self.context_.region_ids).get_indexer(region_ids)
        return np.where(idx >= 0, self.context_.country[np.maximum(idx, 0)], "unknown")

    def _fit_detection(self, data: PanelArrays, context: RegionContext) -> DetectionModel:
        assert data.reported is not None and data.detected is not None and data.effort is not None
        shape = data.shape
        country = np.broadcast_to(context.country[None, :, None], shape)
        category = np.broadcast_to(data.categories[:, None, None], shape)
        model = DetectionModel(
            n_bootstrap=int(self.detection_bootstrap), shrink=bool(self.shrink_correction)
        )
        # The region's observed counts (every category) of the two periods before each cell:
        # what patrols that follow counts would have gone by.
        region_total = np.nansum(data.total, axis=0)
        lagged = [np.pad(region_total, ((0, 0), (k, 0)), constant_values=np.nan)[:, :-k]
                  for k in (1, 2)]  # fmt: skip
        past = np.broadcast_to(np.stack(lagged, axis=-1)[None], (*shape, 2))
        period = np.broadcast_to(np.arange(shape[2])[None, None, :], shape)
        return model.fit(
            data.reported, data.detected, data.effort, country, category, past=past, period=period
        )

    def _activity(self, data: PanelArrays) -> tuple[np.ndarray, np.ndarray]:
        """The series to forecast and each cell's exposure (ones for count models)."""
        if self.target_ != "activity":
            return data.total, np.ones(data.shape)
        assert data.effort is not None
        where = (data.effort, self.context_.country[None, :, None], data.categories[:, None, None])
        # Past counts are corrected as far as the correction between cells is not set by the
        # counts before them (patrols that follow counts); a target's expected observations
        # use the detection model's exposure at the effort spent (models/detection.py).
        past = self.detection_.exposure(*where, history=True)
        exposure = self.detection_.exposure(*where)
        with np.errstate(invalid="ignore", divide="ignore"):
            return data.total / past, exposure

    def _calibration_window(self, t_n: int) -> int:
        h = int(self.horizon)
        if self.calibration_periods is not None:
            window = int(self.calibration_periods)
        else:
            window = min(26, max(2 * h, t_n // 6))
        # The first fit needs some history left, and the window at least one target per h.
        if window < h or t_n - window < 2 * h + 4:
            return 0
        return window

    def _held_out(
        self, prep: Any, data: PanelArrays, exposure: np.ndarray, window: int
    ) -> pd.DataFrame:
        """Forecasts of the held-out window at the end of the data, as expected observations.

        One row per (category, region, target period, horizon), the first three as indices
        into the panel's arrays: :data:`CALIBRATION_COLUMNS`.
        """
        t_n, h_n = data.shape[2], int(self.horizon)
        c_n, r_n = data.shape[:2]
        origins = np.arange(t_n - 1 - window, t_n - 1)
        mean = self._predict_core(prep, data, origins)
        parts = []
        for h in range(1, h_n + 1):
            ok = origins + h < t_n
            targets = origins[ok] + h
            cat, reg, tgt = np.meshgrid(np.arange(c_n), np.arange(r_n), targets, indexing="ij")
            parts.append(
                pd.DataFrame(
                    {
                        "category": cat.ravel(),
                        "region": reg.ravel(),
                        "target": tgt.ravel(),
                        "horizon": h,
                        "actual": data.total[:, :, targets].ravel(),
                        "mean": (mean[:, :, ok, h - 1] * exposure[:, :, targets]).ravel(),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def _table(
        self,
        mean: np.ndarray,
        last: pd.Timestamp,
        regions: list[str] | None,
        categories: list[str] | None,
    ) -> pd.DataFrame:
        c_n, r_n, h_n = mean.shape
        periods = future_periods(last, self.frequency_, h_n)
        cat, reg, hor = np.meshgrid(np.arange(c_n), np.arange(r_n), np.arange(h_n), indexing="ij")
        flat = np.maximum(np.nan_to_num(mean.ravel(), nan=0.0), 0.0)
        q = self.intervals_.quantiles(flat, hor.ravel() + 1)
        kappa = np.full(c_n, np.nan)
        if self.target_ == "activity":
            kappa = np.array([self.detection_.kappa_.get(c, np.nan) for c in self.categories_])
        table = pd.DataFrame(
            {
                "region_id": pd.array(self.regions_[reg.ravel()], dtype="str"),
                "category": pd.array(self.categories_[cat.ravel()], dtype="str"),
                "period": periods[hor.ravel()],
                "activity_mean": flat,
                "activity_q10": q["q10"],
                "activity_q50": q["q50"],
                "activity_q90": q["q90"],
                "detection_rate": kappa[cat.ravel()],
            }
        )
        if regions is not None:
            table = table[table["region_id"].isin([str(r) for r in regions])]
        if categories is not None:
            table = table[table["category"].isin([str(c) for c in categories])]
        return table.sort_values(["region_id", "category", "period"]).reset_index(drop=True)
