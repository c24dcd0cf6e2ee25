"""Against a real ``mlflow server`` on localhost: train, then load the champion elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from crossplan.models.pyfunc import pyfunc_input
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.train import train
from tests.ports import free_port

LOAD_CHAMPION = """
import sys
import mlflow
import pandas as pd
model = mlflow.pyfunc.load_model("models:/crossplan-risk@champion")
model.predict(pd.read_parquet(sys.argv[1]), params={"horizon": 2}).to_parquet(sys.argv[2])
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mlflow server did not start") from None
                time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_train_against_a_server_and_load_in_a_fresh_process(
    server: str, small_world_dir: Path, crossplan_home: Path, tmp_path: Path
) -> None:
    result = train(small_world_dir, horizon=2, origins=2, refit_every=2, tracking_uri=server)
    assert result.decision.promote and result.tracking_uri == server
    panel, out = tmp_path / "panel.parquet", tmp_path / "forecast.parquet"
    pyfunc_input(load_dataset(small_world_dir).incidents).to_parquet(panel)
    env = {**os.environ, "MLFLOW_TRACKING_URI": server}
    subprocess.run(
        [sys.executable, "-c", LOAD_CHAMPION, panel, out], env=env, check=True, timeout=180
    )
    forecast = pd.read_parquet(out)
    assert forecast["period"].nunique() == 2 and (forecast["activity_mean"] >= 0).all()
    assert not (crossplan_home / "mlflow.db").exists()  # nothing went to the local store
