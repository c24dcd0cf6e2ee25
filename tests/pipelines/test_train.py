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
from crossplan.pipelines.conventions import (
    COVERAGE_WINDOW,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    PANEL_DATASET,
    RUN_KIND_TAG,
    CoverageWindow,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.forecast_rows import ForecastRows
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
    assert {"plots/backtest.png", "plots/calibration.png", "plots/calibration_levels.png"} <= (
        plots
    )
    _check_data_scientists_view(client, first, small_world_dir, tmp_path)
    # A backtest: a run of its own in the same experiment, logged alike.
    bt = tmp_path / "bt.json"
    assert main(["backtest", "--data", str(small_world_dir), "--origins", "2", "--horizon",
                 "2", "--models", "seasonal_naive", "moving_average", "--quiet",
                 "--json", str(bt)]) == 0  # fmt: skip
    _check_backtest_run(json.loads(bt.read_text()), run.info.experiment_id)

    # The same data again: the challenger ties the champion on the same window, so it stays
    # the challenger.
    second = train(small_world_dir, **FAST)
    assert second.version == "2" and not second.decision.promote
    assert "kept as challenger" in client.get_model_version(registry.MODEL_NAME, "2").description
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


def _check_data_scientists_view(
    client: MlflowClient, first: dict[str, Any], data: Path, tmp_path: Path
) -> None:
    """What a data scientist finds in MLflow after a training run: the experiment opening on
    its runs, the panel as the run's dataset, every backtest forecast and the metric tables,
    and a registered model that says what it is."""
    run = client.get_run(first["run_id"])
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND == "custom_model_development"
    assert first["mlflow_ui"] == tracking.ui_url(
        first["tracking_uri"], run.info.experiment_id, run.info.run_id
    )
    assert run.data.tags[RUN_KIND_TAG] == "train"
    fingerprint = run.data.tags["input.fingerprint"]
    (panel,) = run.inputs.dataset_inputs
    assert (panel.dataset.name, panel.dataset.digest) == (PANEL_DATASET, fingerprint[:36])
    assert json.loads(panel.dataset.source) == {"data_dir": str(data.resolve())}
    input_tags = {t.key: t.value for t in panel.tags}
    assert input_tags["mlflow.data.context"] == "training"
    assert input_tags["input.fingerprint"] == fingerprint
    assert input_tags["panel.end"] == run.data.tags["training.end"]

    tables = {a.path for a in client.list_artifacts(first["run_id"], "backtest")}
    assert tables == {f"backtest/{name}" for name in (
        "predictions.parquet", "metrics_by_horizon.csv", "metrics_by_country.csv",
        "calibration_by_level.csv")}  # fmt: skip
    got = Path(client.download_artifacts(first["run_id"], "backtest", str(tmp_path / "bt")))
    scores, chosen = first["selection"]["scores"], first["selection"]["candidate"]
    predictions = pd.read_parquet(got / "predictions.parquet")
    assert set(predictions["model"]) == set(scores)  # every candidate, the blend too
    assert {"origin", "horizon", "region_id", "actual", "prediction", "q10", "q90"} <= set(
        predictions.columns
    )
    assert predictions["origin"].nunique() == FAST["origins"]
    by_h = pd.read_csv(got / "metrics_by_horizon.csv")
    row = by_h.query("model == @chosen and scope == 'observed' and horizon == 2").iloc[0]
    assert row["poisson_deviance"] == pytest.approx(
        run.data.metrics[f"{chosen}.observed.poisson_deviance.h2"]
    )
    by_c = pd.read_csv(got / "metrics_by_country.csv")
    assert by_c["country"].nunique() == 3 and set(by_c["model"]) == set(scores)
    levels = pd.read_csv(got / "calibration_by_level.csv")
    eighty = levels.query("model == @chosen and horizon == 1 and level == 0.8").iloc[0]
    assert eighty["pit_coverage"] == pytest.approx(
        run.data.metrics[f"{chosen}.observed.pit_coverage80.h1"]
    )
    assert levels["level"].nunique() == 9

    model = client.get_registered_model(registry.MODEL_NAME)
    assert model.description == registry.MODEL_DESCRIPTION
    assert str(COVERAGE_WINDOW) in model.tags["champion.rule"]
    version = client.get_model_version(registry.MODEL_NAME, first["version"])
    for said in (chosen, fingerprint, "promoted to champion", first["decision"]["reason"]):
        assert said in version.description
    assert version.tags["input.fingerprint"] == fingerprint
    assert version.tags["backtest.origins"] == str(FAST["origins"])
    assert version.tags["champion.candidate"] == chosen


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
    small_world_dir: Path,
    crossplan_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, preds, cv = tmp_path / "bt.json", tmp_path / "bt.csv", tmp_path / "cv.parquet"
    argv = ["backtest", "--data", str(small_world_dir), "--origins", "2", "--horizon", "2",
            "--models", "seasonal_naive", "moving_average", "--json", str(out),
            "--predictions", str(preds), "--cv-out", str(cv), "--no-mlflow"]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    assert set(doc["models"]) == {"seasonal_naive", "moving_average"}
    assert "truth" in doc["models"]["moving_average"]
    _check_cross_validation(pd.read_parquet(cv), pd.read_csv(preds, parse_dates=["period"]))
    # Not logged (the run that is, test_train_register_gate_promote_load): no store at all.
    assert "run_id" not in doc and not (crossplan_home / "mlflow.db").exists()
    blended = tmp_path / "blend.json"
    assert main([*argv[:10], "blend", "--json", str(blended), "--no-mlflow"]) == 0
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
    result = BacktestResult(ForecastRows.of(frame), sorted(frame["origin"].unique()), 2, False)
    same = select(result)
    assert same.candidate == doc["selection"]["candidate"]
    header = preds.read_text().splitlines()[0].split(",")
    assert header[:10] == ["model", "origin", "horizon", "region_id", "category", "period",
                           "actual", "prediction", "q10", "q90"]  # fmt: skip
    assert main([*argv[:3], "--horizon", "0"]) == 2
    # Bad output names and an unreachable store stop it before the backtest.
    assert main([*argv[:3], "--cv-out", str(tmp_path / "cv.txt")]) == 2
    assert main([*argv[:3], "--tracking-uri", "http://127.0.0.1:9", "--quiet"]) == 2
    assert "cannot reach the MLflow tracking server" in capsys.readouterr().err
    assert not (tmp_path / "cv.txt").exists() and _runs(crossplan_home) == []


def _check_backtest_run(doc: dict[str, Any], experiment_id: str) -> None:
    """A backtest's run reads like a training run's backtest, tagged as a backtest."""
    client = tracking.connect()
    run = client.get_run(doc["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name.startswith("backtest ")
    assert run.data.tags[RUN_KIND_TAG] == "backtest"
    assert run.data.tags["backtest.winner"] == doc["selection"]["candidate"]
    assert run.info.experiment_id == experiment_id
    assert doc["mlflow_ui"].endswith(f"/#/experiments/{experiment_id}/runs/{run.info.run_id}"
                                     "?workflowType=machine_learning")  # fmt: skip
    (panel,) = run.inputs.dataset_inputs
    assert panel.dataset.name == PANEL_DATASET
    assert panel.dataset.digest == run.data.tags["input.fingerprint"][:36]
    assert {t.key: t.value for t in panel.tags}["mlflow.data.context"] == "backtest"
    assert run.data.params["backtest.origins"] == "2"
    assert "moving_average.observed.poisson_deviance.h2" in run.data.metrics
    logged = {a.path for a in client.list_artifacts(doc["run_id"])}
    logged |= {
        a.path for d in ("backtest", "plots") for a in client.list_artifacts(run.info.run_id, d)
    }
    assert {"backtest.json", "selection.json", "backtest/predictions.parquet",
            "backtest/metrics_by_horizon.csv", "backtest/metrics_by_country.csv",
            "backtest/calibration_by_level.csv", "plots/calibration_levels.png"} <= logged  # fmt: skip


def _check_cross_validation(cv: pd.DataFrame, predictions: pd.DataFrame) -> None:
    """``--cv-out`` keeps the column contract of Nixtla's cross-validation output."""
    models = ["seasonal_naive", "moving_average"]
    assert list(cv.columns) == ["unique_id", "ds", "cutoff", "y"] + [
        f"{m}{suffix}" for m in models for suffix in ("", "-lo-80", "-hi-80")
    ]
    observed = predictions.dropna(subset=["actual"])  # a cell with no count has no y
    assert len(cv) == len(observed) // len(models)  # a row per series, period and origin
    first = observed.iloc[0]
    row = cv[
        (cv["unique_id"] == f"{first['region_id']}/{first['category']}")
        & (cv["ds"] == first["period"])
        & (cv["cutoff"] == pd.Timestamp(first["origin"]))
    ].iloc[0]
    model = first["model"]
    assert row["y"] == first["actual"] and row[model] == pytest.approx(first["prediction"])
    assert row[f"{model}-lo-80"] == pytest.approx(first["q10"])
    assert row[f"{model}-hi-80"] == pytest.approx(first["q90"])
    try:
        from utilsforecast.evaluation import evaluate
        from utilsforecast.losses import coverage, mae
    except ImportError:
        return  # not installed here: the columns above are its contract
    scores = evaluate(cv, metrics=[mae, coverage], level=[80])
    assert set(models) <= set(scores.columns)


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
    client = tracking.connect()
    run = client.get_run(result["run_id"])
    tags = run.data.tags
    assert (tags["input.as_of"], tags["input.fingerprint"]) == (panel.as_of_iso, panel.fingerprint)
    assert tags["input.source"] == "database"
    # The run's dataset, and the registered version, say which panel: as of when.
    (dataset,) = run.inputs.dataset_inputs
    assert json.loads(dataset.dataset.source) == {"source": "database", "as_of": panel.as_of_iso}
    assert dataset.dataset.digest == panel.fingerprint[:36]
    assert {t.key: t.value for t in dataset.tags}["input.as_of"] == panel.as_of_iso
    version = client.get_model_version(registry.MODEL_NAME, result["version"])
    assert version.tags["input.as_of"] == panel.as_of_iso
    assert f"the shared database as of {panel.as_of_iso}" in version.description
    (promotion,) = audit_trail(Database.connect(), action="promotion")  # the gate's, audited
    assert promotion.detail["version"] == result["version"]
