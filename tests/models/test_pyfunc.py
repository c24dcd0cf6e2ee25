"""The pyfunc round trip: log, then load in a fresh process and forecast from a panel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from crossplan.models import RiskForecaster, generate_panel
from crossplan.models.pyfunc import log_pyfunc, pyfunc_input
from crossplan.optimize.forecast import FORECAST_COLUMNS

LOAD_AND_PREDICT = """
import sys
import mlflow
import pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(sys.argv[2])
panel = pd.read_parquet(sys.argv[3])
model.predict(panel, params={"horizon": 2}).to_parquet(sys.argv[4])
"""


@pytest.fixture
def store(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("pyfunc-test")
    return uri


def test_round_trip_in_a_fresh_process(store: str, tmp_path: Path) -> None:
    world = generate_panel(n_regions=6, n_periods=40, seed=0)
    model = RiskForecaster(horizon=3, n_estimators=30).fit(world.panel, world.regions)
    example = world.panel[world.panel["period"] >= world.panel["period"].unique()[-4]]
    with mlflow.start_run():
        info = log_pyfunc(model, example, registered_model_name="round-trip")
    assert info.signature is not None and info.signature.params is not None
    panel_path, out_path = tmp_path / "panel.parquet", tmp_path / "forecast.parquet"
    pyfunc_input(world.panel).to_parquet(panel_path)
    subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_AND_PREDICT,
            store,
            "models:/round-trip/1",
            panel_path,
            out_path,
        ],
        check=True,
        timeout=120,
    )
    loaded = pd.read_parquet(out_path)
    expected = model.predict(world.panel, horizon=2)
    assert list(loaded.columns) == list(FORECAST_COLUMNS)
    pd.testing.assert_series_equal(loaded["activity_mean"], expected["activity_mean"])
    assert loaded["period"].nunique() == 2
