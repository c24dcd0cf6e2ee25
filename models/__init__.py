"""Forecasting models: features, the effort-aware LightGBM forecaster, baselines, intervals.

This package depends on no other crossplan package but the forecast-table contract of
:mod:`optimize`: the MLflow pyfunc and everything a served model needs to compute its
features again live here.

Names are loaded on first use, so that the data contract can use :mod:`models.panel`
without loading scikit-learn and LightGBM.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossplan.models.base import PanelForecaster
    from crossplan.models.baselines import LastValue, MovingAverage, PoissonGLM, SeasonalNaive
    from crossplan.models.blend import BlendForecaster, blend_calibration, blend_weights
    from crossplan.models.detection import DetectionModel
    from crossplan.models.features import make_features
    from crossplan.models.forecaster import RiskForecaster
    from crossplan.models.intervals import CountIntervals
    from crossplan.models.synthetic import SyntheticPanel, generate_panel

_HOME = {
    "crossplan.models.base": ("PanelForecaster",),
    "crossplan.models.baselines": ("LastValue", "MovingAverage", "PoissonGLM", "SeasonalNaive"),
    "crossplan.models.blend": ("BlendForecaster", "blend_calibration", "blend_weights"),
    "crossplan.models.detection": ("DetectionModel",),
    "crossplan.models.features": ("make_features",),
    "crossplan.models.forecaster": ("RiskForecaster",),
    "crossplan.models.intervals": ("CountIntervals",),
    "crossplan.models.synthetic": ("SyntheticPanel", "generate_panel"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}

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


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'crossplan.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
