"""Training on a Dask cluster: the same champion and numbers as a local run, and where it ran."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster

from crossplan.pipelines import cluster, tracking
from crossplan.pipelines.backtest import candidates
from crossplan.pipelines.cluster import Local, connect
from crossplan.pipelines.contract import load_dataset, read_truth
from crossplan.pipelines.selection import compare
from crossplan.serving.cli import main
from crossplan.serving.settings import Settings

FAST: dict[str, Any] = {"horizon": 2, "origins": 4, "refit_every": 2}


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A scheduler with two worker processes of one thread each, on this machine."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def _numbers(scores: dict[str, Any]) -> dict[str, float]:
    """Every metric of every candidate, flattened (``model.scope.metric``)."""
    flat = {}
    for model, scopes in scores.items():
        for scope, values in scopes.items():
            if scope in ("observed", "truth"):
                flat.update({f"{model}.{scope}.{k}": float(v) for k, v in values.items()})
    return flat


def test_train_on_a_cluster_gives_the_local_champion_and_numbers(
    tiny_world_dir: Path, crossplan_home: Path, tmp_path: Path, scheduler: str
) -> None:
    # Training's own comparison, here (what `crossplan train` without --cluster runs).
    ds = load_dataset(tiny_world_dir)
    local = compare(
        ds.incidents, ds.regions, ds.adjacency, candidates(2, has_effort=ds.has_effort),
        has_effort=ds.has_effort, truth=read_truth(tiny_world_dir), frequency=ds.frequency,
        runner=Local(), **FAST,
    )  # fmt: skip
    out = tmp_path / "cluster.json"
    argv = ["train", "--data", str(tiny_world_dir), "--horizon", "2", "--origins", "4",
            "--refit-every", "2", "--cluster", scheduler, "--quiet", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    remote = json.loads(out.read_text())
    assert remote["selection"]["candidate"] == local.selection.candidate
    assert remote["promoted"]  # the first training's champion
    mine, theirs = _numbers(local.result.metrics()), _numbers(remote["models"])
    assert mine.keys() == theirs.keys() and len(mine) > 40
    for key, value in mine.items():
        assert math.isclose(theirs[key], value, rel_tol=1e-6, abs_tol=1e-6) or (
            math.isnan(value) and math.isnan(theirs[key])
        ), key
    # The run says where it ran.
    tags = tracking.connect().get_run(remote["run_id"]).data.tags
    assert tags["compute.where"] == scheduler and tags["compute.workers"] == "2"


def test_a_scheduler_that_does_not_answer_is_a_clear_error(
    tiny_world_dir: Path, crossplan_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    assert Settings.from_env().dask_scheduler is None
    with connect(None) as runner:
        assert runner.where == "local"
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("CROSSPLAN_DASK_SCHEDULER", address)
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    assert Settings.from_env().dask_scheduler == address
    # The command goes there and says plainly that nothing answers, and how to start a
    # scheduler; no run is left behind.
    assert main(["train", "--data", str(tiny_world_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{address} did not answer" in err and "dask scheduler" in err
    assert not (crossplan_home / "mlflow.db").exists()
