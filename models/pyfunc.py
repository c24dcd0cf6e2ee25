"""The forecaster as an MLflow pyfunc: a panel DataFrame in, a forecast table out.

A data scientist loads it with ``mlflow.pyfunc.load_model("models:/crossplan-risk@champion")``
and calls ``predict(panel, params={"horizon": 4})``; the panel is the long incident table
(``region_id``, ``period``, ``category``, counts, ``effort``, ``cov_*``) exactly as
``pd.read_parquet`` or ``pd.read_csv`` gives it. The fitted forecaster is stored as a joblib
artifact and computes its features again from the panel.

The signature names every column of the panel but types only the text columns: counts are
int64 in a file without gaps and float64 with them, and a CSV's ``period`` is text, while
MLflow's schema types accept neither int64 for a double nor text for a datetime. The
forecaster reads those columns itself (``models.panel.to_arrays``) and says what is wrong.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

from crossplan.models.base import PanelForecaster

__all__ = ["ARTIFACT", "RiskPyfunc", "log_pyfunc", "pyfunc_input"]

ARTIFACT = "forecaster"
_REQUIREMENTS = ("numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "joblib", "mlflow")
_TEXT = ("region_id", "category", "source")


def pyfunc_input(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel with plain dtypes MLflow's schemas know: strings, datetimes, floats.

    Nullable integer counts become floats, so a missing count stays ``NaN``.
    """
    out = panel.copy()
    for col in out.columns:
        if col == "period":
            out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
        elif col in ("region_id", "category", "source"):
            out[col] = out[col].astype(object).where(out[col].notna(), None).astype(str)
        else:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


class RiskPyfunc(PythonModel):
    """Pyfunc wrapper; the forecaster is loaded from the ``forecaster`` artifact.

    Input counts should be floats (missing counts ``NaN``): :func:`pyfunc_input` converts a
    validated panel.
    """

    def load_context(self, context):
        self.forecaster: PanelForecaster = joblib.load(context.artifacts[ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Forecast table for the periods after the panel's last; ``params["horizon"]``."""
        horizon = (params or {}).get("horizon")
        panel = pd.DataFrame(model_input)
        return self.forecaster.predict(panel, horizon=None if horizon is None else int(horizon))


def log_pyfunc(
    forecaster: PanelForecaster,
    example: pd.DataFrame,
    *,
    name: str = "model",
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log ``forecaster`` as a pyfunc in the active run, with signature and input example.

    Parameters
    ----------
    forecaster
        A fitted forecaster.
    example
        A few periods of the panel (all regions), used as input example and for the signature.
    registered_model_name
        Also register the logged model under this name.
    """
    example = pyfunc_input(example)
    output = forecaster.predict(example)
    output = output.assign(region_id=output["region_id"].astype(object).astype(str))
    output = output.assign(category=output["category"].astype(object).astype(str))
    inferred = infer_signature(
        example, output.astype({"period": "datetime64[ns]"}), params={"horizon": forecaster.horizon}
    )
    columns: list[ColSpec | TensorSpec] = [
        ColSpec(c.type if c.name in _TEXT else AnyType(), c.name, c.required)
        for c in inferred.inputs.inputs
    ]
    signature = ModelSignature(Schema(columns), inferred.outputs, inferred.params)
    requirements = [f"{pkg}=={version(pkg)}" for pkg in _REQUIREMENTS]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{ARTIFACT}.joblib"
        joblib.dump(forecaster, path)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={ARTIFACT: str(path)},
            signature=signature,
            input_example=example,
            pip_requirements=requirements,
            registered_model_name=registered_model_name,
        )
