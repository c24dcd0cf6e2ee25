"""A model saved before crossplan was one namespace (its pickle and its MLflow code name
``models.…``) still loads and forecasts the same, through ``old_module_paths``; outside it,
``models`` is not ours."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import mlflow
import pandas as pd
import pytest

from crossplan.models.baselines import PoissonGLM
from crossplan.models.legacy import DROP_AFTER, old_module_paths

LEGACY = Path(__file__).parent / "legacy"


def _expected() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(LEGACY / "panel.parquet"), pd.read_parquet(LEGACY / "forecast.parquet")


def test_an_old_pickle_needs_the_old_names() -> None:
    with pytest.raises(ModuleNotFoundError, match="models"):
        joblib.load(LEGACY / "pyfunc" / "artifacts" / "forecaster.joblib")


def test_an_old_pickle_and_an_old_mlflow_model_load_and_forecast_the_same() -> None:
    panel, expected = _expected()
    with old_module_paths():
        pickled = joblib.load(LEGACY / "pyfunc" / "artifacts" / "forecaster.joblib")
        logged = mlflow.pyfunc.load_model(str(LEGACY / "pyfunc"))
    for forecaster in (pickled, logged.unwrap_python_model().forecaster):
        assert isinstance(forecaster, PoissonGLM)  # the namespace's class itself
        pd.testing.assert_frame_equal(
            forecaster.predict(panel).reset_index(drop=True), expected.reset_index(drop=True)
        )
    assert not [name for name in sys.modules if name.split(".")[0] == "models"]
    assert DROP_AFTER == "2027-06-30"
