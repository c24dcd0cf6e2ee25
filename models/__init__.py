"""Forecasting models: features, the effort-aware LightGBM forecaster, baselines, intervals.

This package depends on no other crossplan package: the MLflow pyfunc and everything a
served model needs to compute its features again live here.
"""

from models.base import FORECAST_COLUMNS, PanelForecaster
from models.baselines import LastValue, MovingAverage, PoissonGLM, SeasonalNaive
from models.blend import BlendForecaster, blend_weights
from models.detection import DetectionModel
from models.features import make_features
from models.forecaster import RiskForecaster
from models.intervals import CountIntervals
from models.synthetic import SyntheticPanel, generate_panel

__all__ = [
    "FORECAST_COLUMNS",
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
    "blend_weights",
    "generate_panel",
    "make_features",
]
