"""Training end to end in a temporary MLflow store: log, register, gate, promote, load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from crossplan.optimize.forecast import FORECAST_COLUMNS
from crossplan.pipelines import registry, tracking
from crossplan.pipelines.backtest import BacktestResult
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.conventions import COVERAGE_WINDOW, CoverageWindow
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.forecasting import LoadedModel, champion_forecast, load_champion
from crossplan.pipelines.selection import select
from crossplan.pipelines.train import train
from crossplan.serving.cli import main

FAST: dict[str, Any] = {"horizon": 2, "origins": 3, "refit_every": 3}


def _runs(home: Path) -> list[str]:
    """Statuses of every run in the store under ``home`` (none if there is no store)."""
    if not (home / "mlflow.db").exists():
        return []
    client = MlflowClient(tracking.default_tracking_uri())
    return [
        r.info.status
        for r in client.search_runs([e.experiment_id for e in client.search_experiments()])
    ]


@pytest.mark.slow
def test_train_register_gate_promote_load(
    small_world_dir: Path, crossplan_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "train.json"
    argv = ["train", "--data", str(small_world_dir), "--horizon", "2", "--origins", "3",
            "--refit-every", "3", "--quiet", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    first = json.loads(out.read_text())
    assert first["version"] == "1" and first["promoted"]
    assert "lightgbm" in first["models"] and "truth" in first["models"]["lightgbm"]
    client = tracking.connect()
    run = client.get_run(first["run_id"])
    assert run.info.status == "FINISHED"
    chosen = first["selection"]["candidate"]
    assert run.data.tags["champion.candidate"] == chosen
    scores = first["selection"]["scores"]
    assert {"lightgbm", "lightgbm_naive", "last_value", "blend"} <= set(scores)
    eligible = {n: s["poisson_deviance"] for n, s in scores.items() if s["eligible"]}
    assert scores[chosen]["poisson_deviance"] == min(eligible.values())  # evidence decides
    assert "lightgbm.observed.poisson_deviance" in run.data.metrics
    assert "blend.observed.poisson_deviance" in run.data.metrics
    assert "seasonal_naive.truth.spearman" in run.data.metrics
    assert len(run.data.tags["input.fingerprint"]) == 64
    artifacts = {a.path for a in client.list_artifacts(first["run_id"])}
    assert {"model_card.md", "backtest.json", "plots", "promotion.json", "selection.json"} <= (
        artifacts
    )
    # The window the candidates were held to, as numbers: in selection.json, the train
    # command's output, the run's parameters and the model card.
    window = COVERAGE_WINDOW.to_dict()
    logged = json.loads(
        Path(
            client.download_artifacts(first["run_id"], "selection.json", str(tmp_path))
        ).read_text()
    )
    assert logged["coverage_window"] == first["selection"]["coverage_window"] == window
    assert CoverageWindow.from_params(run.data.params) == COVERAGE_WINDOW
    card = Path(client.download_artifacts(first["run_id"], "model_card.md", str(tmp_path)))
    assert f"| {COVERAGE_WINDOW.lo} | {COVERAGE_WINDOW.hi} |" in card.read_text()
    plots = {a.path for a in client.list_artifacts(first["run_id"], "plots")}
    assert {"plots/backtest.png", "plots/calibration.png"} <= plots

    # The same data again: the challenger ties the champion on the same window, so it stays
    # the challenger.
    second = train(small_world_dir, **FAST)
    assert second.version == "2" and not second.decision.promote
    assert str(client.get_model_version_by_alias(registry.MODEL_NAME, "challenger").version) == "2"
    champion = load_champion()
    assert champion.version == "1" and champion.training_window is not None
    assert set(champion.detection_model["kappa"]) == {
        "smuggling_of_migrants",
        "trafficking_in_persons",
    }
    assert (
        champion.metrics["observed"]["pit_coverage80"] == first["decision"]["challenger_coverage"]
    )
    assert champion.selection["candidate"] == chosen
    assert set(champion.selection["candidates"]) == set(scores)
    assert champion.selection["coverage_window"] == window  # the served card's, too

    ds = load_dataset(small_world_dir)
    forecast = champion.predict(ds, 2)
    assert list(forecast.columns) == list(FORECAST_COLUMNS) and forecast["period"].nunique() == 2
    joblib.dump(champion, tmp_path / "copy.joblib")  # the service keeps a local copy
    copy: LoadedModel = joblib.load(tmp_path / "copy.joblib")
    assert copy.predict(ds, 1).equals(champion.predict(ds, 1))
    with pytest.raises(ConfigurationError, match="horizon"):
        champion.predict(ds, 0)

    # By hand, with a reason.
    assert main(["promote", "--version", "2", "--reason", "reviewed", "--quiet"]) == 0
    assert load_champion().version == "2"
    forecast = champion_forecast(ds, 1)
    assert forecast.table.shape[0] == len(ds.regions) * 2 and forecast.ref.version == "2"
    assert set(_runs(crossplan_home)) == {"FINISHED"}

    # New data, another backtest window: the champion is backtested again on the new window.
    newer = tmp_path / "newer"
    shutil.copytree(small_world_dir, newer)
    panel = pd.read_parquet(newer / "incidents.parquet")
    panel[panel["period"] < panel["period"].max()].to_parquet(newer / "incidents.parquet")
    third = train(newer, **FAST)
    assert third.decision.champion_version == "2"
    assert third.decision.champion_deviance is not None


def _broken_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    (dst / "regions.geojson").write_text(json.dumps({"type": "FeatureCollection"}))
    return dst


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("bad data", []),  # a file that crossplan validate rejects
        ("horizon 0", ["--horizon", "0"]),  # nothing to forecast
        ("unreachable store", ["--tracking-uri", "http://127.0.0.1:9"]),  # nothing listens there
    ],
)
def test_bad_input_exits_2_without_a_run(
    case: str,
    extra: list[str],
    small_world_dir: Path,
    crossplan_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = (
        _broken_copy(small_world_dir, tmp_path / "bad") if case == "bad data" else small_world_dir
    )
    assert main(["train", "--data", str(data), "--quiet", *extra]) == 2
    assert "error" in capsys.readouterr().err
    assert _runs(crossplan_home) == []


def test_no_champion_is_a_clear_error(crossplan_home: Path) -> None:
    with pytest.raises(ConfigurationError, match="no champion"):
        load_champion()


def test_backtest_command_writes_results(
    small_world_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, preds = tmp_path / "bt.json", tmp_path / "bt.csv"
    argv = ["backtest", "--data", str(small_world_dir), "--origins", "2", "--horizon", "2",
            "--models", "seasonal_naive", "moving_average", "--json", str(out),
            "--predictions", str(preds)]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    assert set(doc["models"]) == {"seasonal_naive", "moving_average"}
    assert "truth" in doc["models"]["moving_average"]
    blended = tmp_path / "blend.json"
    assert main([*argv[:10], "blend", "--json", str(blended)]) == 0  # the blend of the two
    assert set(json.loads(blended.read_text())["models"]) == {
        "seasonal_naive",
        "moving_average",
        "blend",
    }
    printed = capsys.readouterr().out
    assert "Backtest against observed counts" in printed
    # One verdict across doors: the winner by training's rule, on the backtest's own origins.
    verdict = json.loads(blended.read_text())["selection"]
    assert verdict["test"]["origins"] == 2 and verdict["candidate"] in verdict["scores"]
    assert "interval90" in verdict["scores"]["blend"]["vs_chosen"]
    assert "Winner by the rule of crossplan train" in printed
    frame = pd.read_csv(preds, parse_dates=["origin", "period"])
    result = BacktestResult(frame, sorted(frame["origin"].unique()), 2, False)
    same = select(result)
    assert same.candidate == doc["selection"]["candidate"]
    header = preds.read_text().splitlines()[0].split(",")
    assert header[:10] == ["model", "origin", "horizon", "region_id", "category", "period",
                           "actual", "prediction", "q10", "q90"]  # fmt: skip
    assert main([*argv[:3], "--horizon", "0"]) == 2


@pytest.mark.slow
def test_train_from_the_database_records_the_panels_as_of_time_and_fingerprint(
    tiny_world_dir: Path, crossplan_home: Path, tmp_path: Path
) -> None:
    from crossplan.pipelines.database import Database, audit_trail, load_panel

    assert main(["import", "--data", str(tiny_world_dir)]) == 0
    out = tmp_path / "train.json"
    argv = ["train", "--database", "--horizon", "2", "--origins", "1", "--refit-every", "1",
            "--quiet", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(out.read_text())
    panel = load_panel(Database.connect())
    tags = tracking.connect().get_run(result["run_id"]).data.tags
    assert (tags["input.as_of"], tags["input.fingerprint"]) == (panel.as_of_iso, panel.fingerprint)
    assert tags["input.source"] == "database"
    (promotion,) = audit_trail(Database.connect(), action="promotion")  # the gate's, audited
    assert promotion.detail["version"] == result["version"]
