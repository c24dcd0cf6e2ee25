"""Forecasting models: features, the effort-aware LightGBM forecaster, baselines, intervals.

This package depends on no other crossplan package but the forecast-table contract of
:mod:`optimize` and the calendar of periods beside it (:mod:`optimize.periods`): the MLflow
pyfunc and everything a served model needs to compute its features again live here.
"""

from __future__ import annotations

from crossplan.models.base import PanelForecaster
from crossplan.models.baselines import LastValue, MovingAverage, PoissonGLM, SeasonalNaive
from crossplan.models.blend import BlendForecaster, blend_calibration, blend_weights
from crossplan.models.detection import DetectionModel
from crossplan.models.features import make_features
from crossplan.models.forecaster import RiskForecaster
from crossplan.models.intervals import CountIntervals
from crossplan.models.synthetic import SyntheticPanel, generate_panel

__all__ = [
    "BlendForecaster",
    "CountIntervals",
    "DetectionModel",
    "LastValue",
    "MovingAverage",
    "PanelForecaster",
    "PoissonGLM",
    "RiskForecaster",
    "SeasonalNaive",
    "SyntheticPanel",
    "blend_calibration",
    "blend_weights",
    "generate_panel",
    "make_features",
]
