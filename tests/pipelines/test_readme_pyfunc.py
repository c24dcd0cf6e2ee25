"""The README's MLflow example, run verbatim on the files ``crossplan simulate`` writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from crossplan.models import RiskForecaster
from crossplan.models.pyfunc import log_pyfunc
from crossplan.optimize.forecast import FORECAST_COLUMNS
from crossplan.pipelines import registry, tracking


def _readme_snippet() -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = readme.split("```python\n")[1:]
    snippet = next(b.split("```")[0] for b in blocks if "crossplan-risk@champion" in b)
    return snippet + "forecast.to_parquet('forecast.parquet')\n"


def test_readme_snippet_on_parquet_and_csv(small_world_dir: Path, tmp_path: Path) -> None:
    world_dir = tmp_path / ".crossplan" / "world"
    world_dir.mkdir(parents=True)
    shutil.copy(small_world_dir / "incidents.parquet", world_dir)
    incidents = pd.read_parquet(world_dir / "incidents.parquet")
    assert pd.api.types.is_integer_dtype(incidents["reported"])  # what MLflow used to refuse
    incidents.to_csv(world_dir / "incidents.csv", index=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = tracking.connect(uri)
    model = RiskForecaster(horizon=3, n_estimators=20).fit(incidents)
    with tracking.tracked_run(client, "readme"):
        log_pyfunc(model, incidents, registered_model_name=registry.MODEL_NAME)
    registry.promote(client, 1, "for the README example")
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    subprocess.run(
        [sys.executable, "-c", _readme_snippet()], cwd=tmp_path, env=env, check=True, timeout=120
    )
    forecast = pd.read_parquet(tmp_path / "forecast.parquet")
    assert list(forecast.columns) == list(FORECAST_COLUMNS)
    assert forecast["period"].nunique() == 2  # the CSV line, with its horizon parameter
    expected = model.predict(incidents, horizon=2)
    pd.testing.assert_series_equal(
        forecast["activity_mean"], expected["activity_mean"], check_names=False
    )
