"""Training on a Dask cluster: the same champion and numbers as a local run, and where it ran."""

from __future__ import annotations

import json
import math
import pickle
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster
from lightgbm import LGBMRegressor

from crossplan.models import LastValue, RiskForecaster
from crossplan.models.forecaster import LGBM_TRAIN_ROWS
from crossplan.pipelines import cluster, registry, tracking
from crossplan.pipelines.backtest import backtest, candidates, lightgbm_rows
from crossplan.pipelines.cluster import Local, connect
from crossplan.pipelines.contract import Dataset, load_dataset, read_truth
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
    tiny_world_dir: Path,
    crossplan_home: Path,
    tmp_path: Path,
    scheduler: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Training's own comparison, here (what `crossplan train` without --cluster runs).
    ds = load_dataset(tiny_world_dir)
    local = compare(
        ds.incidents, ds.regions, ds.adjacency, candidates(2, has_effort=ds.has_effort),
        has_effort=ds.has_effort, truth=read_truth(tiny_world_dir), frequency=ds.frequency,
        runner=Local(), **FAST,
    )  # fmt: skip
    # Every backtest fit stays on one worker; the final fit, larger than any of them (all
    # periods), is spread over both: the backtest's numbers stay those of a local run.
    folds = ds.incidents[ds.incidents["period"] <= ds.periods[-3]]  # the latest block's cut
    largest = lightgbm_rows(RiskForecaster(horizon=2), folds)
    monkeypatch.setenv("CROSSPLAN_DASK_DISTRIBUTED_ROWS", str(largest + 1))
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
    # The run says where it ran, and whether its final fit went through lightgbm.dask: the
    # champion's, spread when it fits LightGBM on more rows than any backtest fit had.
    tags = tracking.connect().get_run(remote["run_id"]).data.tags
    assert tags["compute.where"] == scheduler and tags["compute.workers"] == "2"
    assert tags["compute.distributed_rows"] == str(largest + 1)
    champion = candidates(2, has_effort=ds.has_effort)[remote["selection"]["candidate"]]
    spread = lightgbm_rows(champion, ds.incidents) > largest
    assert tags["compute.final_fit"] == ("lightgbm.dask" if spread else "one process"), tags
    if spread:
        shares = dict(p.split("=") for p in tags["compute.final_fit.partitions"].split(","))
        assert len(shares) == 2
        assert sum(map(int, shares.values())) == int(tags["compute.final_fit.rows"]) > largest
    served = registry.load_forecaster(remote["version"])
    forecast = served.predict(ds.incidents, horizon=2)
    assert len(forecast) == 2 * 20 and (forecast["activity_mean"] > 0).all()


def test_a_cluster_spreads_from_the_rows_one_process_fits_on_at_most() -> None:
    assert cluster.DISTRIBUTED_ROWS == LGBM_TRAIN_ROWS


def test_a_spread_final_fit_is_an_ordinary_lightgbm_model(
    tiny_dataset: Dataset, scheduler: str
) -> None:
    """A fit spread over the workers gives back LightGBM's own regressor (``to_local``),
    trained by its data-parallel learner: it pickles and forecasts as a local one does."""
    ds = tiny_dataset
    with connect(scheduler, distributed_rows=1) as runner:
        model = RiskForecaster(horizon=2).fit(
            ds.incidents, ds.regions, ds.adjacency, frequency=ds.frequency,
            fitter=runner.distributed_fitter,
        )  # fmt: skip
        assert len(runner.distributed_fits) == 2  # the calibration fit, then all the data
    again = pickle.loads(pickle.dumps(model))
    assert type(again.estimator_) is LGBMRegressor
    assert again.estimator_.get_params()["tree_learner"] == "data"
    forecast = again.predict(ds.incidents, horizon=2)
    assert len(forecast) == 2 * 20 and (forecast["activity_mean"] > 0).all()


# The backtest deviance of LightGBM over seeds 0-4 on the tiny world spans 1.147-1.238 (one
# process): a fit spread over two workers differs from the local one by less than that.
SPREAD_TOLERANCE = 0.1


def test_a_lightgbm_fit_from_the_threshold_is_spread_over_the_workers(
    tiny_dataset: Dataset, scheduler: str
) -> None:
    ds = tiny_dataset
    folds = {**FAST, "refit_every": 4, "frequency": ds.frequency}  # one fit for 4 origins
    # The baseline has no LightGBM fit: its task stays on a worker beside the spread one.
    models = {"lightgbm": RiskForecaster(horizon=2), "last_value": LastValue(horizon=2)}
    args = (ds.incidents, ds.regions, ds.adjacency, models)
    local = backtest(*args, runner=Local(), **folds)
    with connect(scheduler, distributed_rows=1) as runner:
        spread = backtest(*args, runner=runner, **folds)
        fits = runner.distributed_fits
    # Both fits (calibration, then all the data) went through lightgbm.dask, each worker
    # holding half of the training matrix's rows.
    assert len(fits) == 2
    for fit in fits:
        assert len(fit.partitions) == 2 and sum(fit.partitions.values()) == fit.rows
        assert min(fit.partitions.values()) == fit.rows // 2
    # Not the same trees as one process's, but as good a backtest.
    mine = local.metrics()["lightgbm"]["observed"]["poisson_deviance"]
    theirs = spread.metrics()["lightgbm"]["observed"]["poisson_deviance"]
    assert theirs != mine
    assert math.isclose(theirs, mine, rel_tol=SPREAD_TOLERANCE), (mine, theirs)
    assert spread.metrics()["last_value"] == local.metrics()["last_value"]


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
    # A threshold that is not a number of rows is said as plainly, before anything runs.
    for bad in ("ten million", "0", "-5"):
        monkeypatch.setenv("CROSSPLAN_DASK_DISTRIBUTED_ROWS", bad)
        assert main(["train", "--data", str(tiny_world_dir), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"CROSSPLAN_DASK_DISTRIBUTED_ROWS={bad!r}" in err and "whole number" in err
    assert not (crossplan_home / "mlflow.db").exists()
