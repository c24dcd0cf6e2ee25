"""``crossplan train``: backtest, fit, log to MLflow, register, and gate the promotion.

Everything that can fail on the user's input happens before the MLflow run starts (data
validation, options, reaching the tracking store, the backtest and the final fit), so a bad
input leaves no run behind; a failure after the start ends the run as FAILED.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.base import clone

from models import RiskForecaster
from models.pyfunc import log_pyfunc
from pipelines import registry, tracking
from pipelines.backtest import BacktestResult, backtest, default_models
from pipelines.contract import Dataset, input_fingerprint, load_dataset, read_truth
from pipelines.database import PanelVersion
from pipelines.errors import ConfigurationError
from pipelines.model_card import model_card
from pipelines.plots import plot_backtest, plot_calibration, plot_feature_importance

__all__ = ["MAIN_MODEL", "TrainResult", "input_fingerprint", "train"]

MAIN_MODEL = "lightgbm"
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    run_id: str
    version: str
    decision: registry.Decision
    backtest: dict[str, Any]
    seconds: float
    tracking_uri: str

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "model": registry.MODEL_NAME,
            "version": self.version,
            "promoted": self.decision.promote,
            "decision": self.decision.to_dict(),
            "seconds": round(self.seconds, 1),
            "tracking_uri": self.tracking_uri,
            **self.backtest,
        }


def _window_tag(result: BacktestResult, refit_every: int) -> str:
    first, last = result.origins[0], result.origins[-1]
    return f"{first:%Y-%m-%d}..{last:%Y-%m-%d}/h{result.horizon}/refit{refit_every}"


def _champion_metrics(
    client: MlflowClient,
    ds: Dataset,
    window: str,
    fingerprint: str,
    folds: dict[str, Any],
) -> tuple[dict[str, float] | None, str | None]:
    """The champion's observed metrics on this backtest window (re-run if it was another)."""
    champion = registry.champion_version(client)
    if champion is None:
        return None, None
    run = client.get_run(champion.run_id) if champion.run_id else None
    tags = run.data.tags if run is not None else {}
    if tags.get("backtest.window") == window and tags.get("input.fingerprint") == fingerprint:
        m = run.data.metrics if run is not None else {}
        key = f"{MAIN_MODEL}.observed."
        if f"{key}poisson_deviance" in m:
            return {k: m[key + k] for k in ("poisson_deviance", "coverage80")}, str(
                champion.version
            )
    template = clone(registry.load_forecaster(champion.version)).set_params(
        horizon=folds["horizon"]
    )
    redo = backtest(ds.incidents, ds.regions, ds.adjacency, {"champion": template}, **folds)
    return redo.metrics()["champion"]["observed"], str(champion.version)


def _log_metrics(result: BacktestResult) -> None:
    flat: dict[str, float] = {}
    for model, scopes in result.metrics().items():
        for scope, values in scopes.items():
            flat.update({f"{model}.{scope}.{k}": v for k, v in values.items()})
    for model, scopes in result.metrics("horizon").items():
        for scope, by_h in scopes.items():
            for h, values in by_h.items():
                flat.update({f"{model}.{scope}.{k}.h{h}": v for k, v in values.items()})
    for scope, by_c in result.metrics("country")[MAIN_MODEL].items():
        for c, values in by_c.items():
            flat.update({f"{MAIN_MODEL}.{scope}.{k}.{c}": v for k, v in values.items()})
    mlflow.log_metrics({k: float(v) for k, v in flat.items() if pd.notna(v)})


def train(
    data_dir: Path | None = None,
    *,
    panel: PanelVersion | None = None,
    horizon: int = 4,
    origins: int = 8,
    refit_every: int = 4,
    tracking_uri: str | None = None,
    random_state: int = 0,
    progress: Progress | None = None,
) -> TrainResult:
    """Backtest, fit and register a forecaster; promote it if it passes the gate.

    Parameters
    ----------
    data_dir
        Data directory (validated first); or else
    panel
        A panel of the shared database: the run records its as-of time and fingerprint.
    horizon
        Largest forecast horizon, in periods (at least 1).
    origins, refit_every
        Backtest origins, and how often the backtest refits (see :func:`backtest`).
    tracking_uri
        MLflow store; ``MLFLOW_TRACKING_URI`` or ``sqlite:///$CROSSPLAN_HOME/mlflow.db`` by
        default.
    progress
        Called with (done, total, label) as work proceeds.

    Raises
    ------
    CrossplanError
        Bad data (``DataValidationError``), bad options or an unreachable store
        (``ConfigurationError``), all before any MLflow run starts.
    """
    started = time.perf_counter()
    if horizon < 1:
        raise ConfigurationError(f"--horizon must be at least 1, got {horizon}")
    if origins < 1 or refit_every < 1:
        raise ConfigurationError("--origins and --refit-every must be at least 1")
    if panel is not None:
        ds, fingerprint, truth = panel.dataset, panel.fingerprint, None
        source = {"input.as_of": panel.as_of_iso, "input.source": "database"}
    elif data_dir is not None:
        ds, fingerprint = load_dataset(data_dir), input_fingerprint(data_dir)
        truth = read_truth(data_dir) if (data_dir / "truth.parquet").exists() else None
        source = {"input.data_dir": str(data_dir.resolve())}
    else:
        raise ConfigurationError("give a data directory or a panel of the database to train on")
    n_periods = len(ds.periods)
    if n_periods < origins + 3:
        raise ConfigurationError(
            f"{n_periods} periods are too few for a backtest with {origins} origins — fix: "
            f"use --origins {max(n_periods - 3, 1)} or fewer"
        )
    client = tracking.connect(tracking_uri)
    models = default_models(horizon, random_state=random_state)
    total = len(models) * origins + 3
    report = progress or (lambda done, total, label: None)
    folds: dict[str, Any] = {"origins": origins, "horizon": horizon,
                             "refit_every": refit_every, "frequency": ds.frequency}  # fmt: skip
    result = backtest(
        ds.incidents, ds.regions, ds.adjacency, models, truth=truth, progress=report, **folds
    )
    done = len(models) * origins
    report(done, total, "final fit")
    final = RiskForecaster(horizon=horizon, random_state=random_state)
    final.fit(ds.incidents, ds.regions, ds.adjacency, frequency=ds.frequency)
    report(done + 1, total, "champion on the same window")
    window = _window_tag(result, refit_every)
    champion, champion_v = _champion_metrics(client, ds, window, fingerprint, folds)
    decision = registry.gate(result.metrics()[MAIN_MODEL]["observed"], champion, champion_v)
    report(done + 2, total, "logging to MLflow")
    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    periods = ds.periods
    tags = {
        "input.fingerprint": fingerprint,
        **source,
        "backtest.window": window,
        "training.start": f"{periods[0]:%Y-%m-%d}",
        "training.end": f"{periods[-1]:%Y-%m-%d}",
        "trained_at": trained_at,
        "target": final.target_,
    }
    summary = result.to_json()
    detection = final.detection_summary()
    with tracking.tracked_run(client, f"train {trained_at}", tags) as run:
        mlflow.log_params(
            {
                **{f"model.{k}": v for k, v in final.get_params().items()},
                "backtest.origins": origins,
                "backtest.refit_every": refit_every,
                "frequency": ds.frequency,
                "regions": len(ds.regions),
                "periods": n_periods,
                "categories": ",".join(ds.categories),
                "input.fingerprint": fingerprint,
                **({"input.as_of": source["input.as_of"]} if panel is not None else {}),
            }
        )
        _log_metrics(result)
        info = {
            "trained_at": trained_at,
            "training_window": (tags["training.start"], tags["training.end"]),
            "fingerprint": fingerprint,
            "frequency": ds.frequency,
            "horizon": horizon,
            "target": final.target_,
            "regions": len(ds.regions),
            "categories": ds.categories,
            "backtest_origins": origins,
            "params": final.get_params(),
        }
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            plot_backtest(result.predictions, out / "backtest.png")
            plot_calibration(result.predictions, out / "calibration.png")
            plot_feature_importance(
                final.feature_names_, final.feature_importances_, out / "feature_importance.png"
            )
            (out / "model_card.md").write_text(model_card(info, summary["models"], detection))
            (out / "backtest.json").write_text(json.dumps(summary, indent=2, default=str))
            (out / "detection_model.json").write_text(json.dumps(detection, indent=2))
            for name in ("backtest.png", "calibration.png", "feature_importance.png"):
                mlflow.log_artifact(str(out / name), "plots")
            for name in ("model_card.md", "backtest.json", "detection_model.json"):
                mlflow.log_artifact(str(out / name))
        example = ds.incidents[ds.incidents["period"] >= periods[max(len(periods) - 8, 0)]]
        logged = log_pyfunc(final, example, registered_model_name=registry.MODEL_NAME)
        version = str(logged.registered_model_version)
        registry.set_challenger(client, version)
        mlflow.set_tags({"promotion.gate": decision.reason, "registered.version": version})
        mlflow.log_dict(decision.to_dict(), "promotion.json")
        if decision.promote:
            registry.promote(client, version, decision.reason, by="gate")
        run_id = run.info.run_id
    report(total, total, "done")
    return TrainResult(
        run_id=run_id,
        version=version,
        decision=decision,
        backtest=summary,
        seconds=time.perf_counter() - started,
        tracking_uri=tracking.resolve_tracking_uri(tracking_uri),
    )
