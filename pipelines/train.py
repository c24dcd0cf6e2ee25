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
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.base import clone

from crossplan.models import BlendForecaster, PanelForecaster
from crossplan.models.base import RegressorFit
from crossplan.models.pyfunc import log_pyfunc
from crossplan.pipelines import registry, tracking
from crossplan.pipelines.backtest import (
    HORIZON,
    backtest,
    candidates,
    every_row,
    lightgbm_rows,
)
from crossplan.pipelines.cluster import Local, Runner
from crossplan.pipelines.contract import Dataset, input_fingerprint, load_dataset, read_truth
from crossplan.pipelines.conventions import RUN_KIND_TAG
from crossplan.pipelines.database import PanelVersion
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.model_card import model_card
from crossplan.pipelines.plots import plot_feature_importance
from crossplan.pipelines.run_artifacts import (
    log_backtest,
    log_panel,
    log_scores,
    window_tag,
)
from crossplan.pipelines.selection import BLEND, Selection, compare

__all__ = [
    "MAIN_MODEL",
    "TRAIN_ORIGINS",
    "TRAIN_REFIT_EVERY",
    "TrainResult",
    "input_fingerprint",
    "train",
]

MAIN_MODEL = "lightgbm"
#: Backtest origins of a training run: enough blocks of ``horizon`` origins for the noise
#: test of the selection to resolve differences (8 origins in blocks of 4 allow 64 draws).
TRAIN_ORIGINS = 16
#: How often a training run's backtest refits, in origins.
TRAIN_REFIT_EVERY = 4
CANDIDATE_TAG = registry.CANDIDATE_TAG
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    run_id: str
    version: str
    decision: registry.Decision
    selection: Selection
    backtest: dict[str, Any]
    seconds: float
    tracking_uri: str
    #: The run in the MLflow UI (:func:`pipelines.tracking.ui_url`).
    ui_url: str

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "model": registry.MODEL_NAME,
            "version": self.version,
            "promoted": self.decision.promote,
            "decision": self.decision.to_dict(),
            "selection": self.selection.to_dict(),
            "seconds": round(self.seconds, 1),
            "tracking_uri": self.tracking_uri,
            "mlflow_ui": self.ui_url,
            **self.backtest,
        }


def _champion_metrics(
    client: MlflowClient,
    ds: Dataset,
    window: str,
    fingerprint: str,
    folds: dict[str, Any],
    runner: Runner,
) -> tuple[dict[str, float] | None, str | None]:
    """The champion's observed metrics on this backtest window (re-run if it was another)."""
    champion = registry.champion_version(client)
    if champion is None:
        return None, None
    run = client.get_run(champion.run_id) if champion.run_id else None
    tags = run.data.tags if run is not None else {}
    if tags.get("backtest.window") == window and tags.get("input.fingerprint") == fingerprint:
        m = run.data.metrics if run is not None else {}
        key = f"{tags.get(CANDIDATE_TAG, MAIN_MODEL)}.observed."
        if f"{key}poisson_deviance" in m:
            keys = ("poisson_deviance", "coverage80", "pit_coverage80")
            return {k: m[key + k] for k in keys if key + k in m}, str(champion.version)
    template = _for_backtest(registry.load_forecaster(champion.version), folds["horizon"])
    redo = backtest(
        ds.incidents, ds.regions, ds.adjacency, {"champion": template}, runner=runner, **folds
    )
    return redo.metrics()["champion"]["observed"], str(champion.version)


#: Replicates of the served detection model's bootstrap intervals (not needed in backtests).
DETECTION_BOOTSTRAP = 40


def _final_model(
    name: str, models: dict[str, PanelForecaster], weights: list[list[float]], horizon: int
) -> PanelForecaster:
    templates = {n: clone(m) for n, m in models.items()}
    # The served detection model is the first effort-aware member's: only it needs intervals.
    used = [n for n, w in zip(models, np.max(weights, axis=0), strict=True) if w > 0]
    served = [name] if name != BLEND else used
    for n in served:
        params = templates[n].get_params()
        if params.get("effort_aware") and "detection_bootstrap" in params:
            templates[n].set_params(detection_bootstrap=DETECTION_BOOTSTRAP)
            break
    if name == BLEND:
        return BlendForecaster(members=list(templates.items()), weights=weights, horizon=horizon)
    return templates[name]


def _fit(
    model: PanelForecaster,
    panel: pd.DataFrame,
    regions: pd.DataFrame,
    adjacency: pd.DataFrame,
    frequency: str,
    fitter: RegressorFit | None = None,
) -> PanelForecaster:
    return model.fit(panel, regions, adjacency, frequency=frequency, fitter=fitter)


def _compute_tags(runner: Runner, final_fits: int) -> dict[str, str]:
    """Where the training ran, and whether its final fit was spread over the workers: the
    ``final_fits`` last of the runner's distributed fits were the final model's."""
    tags = {"compute.where": runner.where, "compute.workers": str(runner.workers)}
    if runner.distributed_rows is None:
        return tags
    spread = list(runner.distributed_fits)
    last = spread[len(spread) - final_fits :] if final_fits else []
    tags.update(
        {
            "compute.distributed_rows": str(runner.distributed_rows),
            "compute.distributed_fits": str(len(spread)),
            "compute.final_fit": "lightgbm.dask" if last else "one process",
        }
    )
    if last:
        tags["compute.final_fit.rows"] = str(last[-1].rows)
        tags["compute.final_fit.partitions"] = ",".join(
            f"{worker}={rows}" for worker, rows in sorted(last[-1].partitions.items())
        )
    return tags


def _for_backtest(model: PanelForecaster, horizon: int) -> PanelForecaster:
    """An unfitted copy of a served model for a backtest: no bootstrap intervals needed."""
    template = clone(model).set_params(horizon=horizon)
    members = template.get_params().get("members") or [(None, template)]
    for _, m in members:
        if "detection_bootstrap" in m.get_params():
            m.set_params(detection_bootstrap=0)
    return template


def _version_description(
    info: dict[str, Any], source: dict[str, str], decision: registry.Decision
) -> str:
    """A model version's description: what it forecasts, from which panel, and the verdict."""
    start, end = info["training_window"]
    target = "activity" if info["target"] == "activity" else "observed counts"
    where = (
        f"the shared database as of {source['input.as_of']}"
        if "input.as_of" in source
        else f"the data directory {source.get('input.data_dir', '?')}"
    )
    verdict = "promoted to champion" if decision.promote else "kept as challenger"
    return (
        f"`{info['candidate']}` forecasting {target} per region, category and "
        f"{info['frequency']} period, horizons 1-{info['horizon']}, with 80% intervals.\n\n"
        f"Panel: {where}, periods {start} .. {end}, {info['regions']} regions, "
        f"fingerprint `{info['fingerprint']}`.\n\n"
        f"Verdict ({info['backtest_origins']} backtest origins): {verdict}. {decision.reason}."
    )


def _version_tags(tags: dict[str, str], origins: int) -> dict[str, str]:
    """The run's tags a model version repeats: candidate, panel, backtest window."""
    keys = (CANDIDATE_TAG, "input.fingerprint", "input.as_of", "input.source",
            "backtest.window", "training.start", "training.end")  # fmt: skip
    return {**{k: tags[k] for k in keys if k in tags}, "backtest.origins": str(origins)}


def _importances(model: PanelForecaster) -> tuple[list[str], Any] | None:
    """Feature names and gains of the model, or of a blend's first member that has them."""
    found = [m for _, m in getattr(model, "members_", [])] + [model]
    for m in found:
        if hasattr(m, "feature_importances_"):
            return list(m.feature_names_), m.feature_importances_
    return None


def train(
    data_dir: Path | None = None,
    *,
    panel: PanelVersion | None = None,
    horizon: int = HORIZON,
    origins: int = TRAIN_ORIGINS,
    refit_every: int = TRAIN_REFIT_EVERY,
    tracking_uri: str | None = None,
    random_state: int = 0,
    progress: Progress | None = None,
    runner: Runner | None = None,
) -> TrainResult:
    """Backtest every candidate, fit the best, register it; promote it if it passes the gate.

    The candidates are the main model, its naive twin, the baselines and a blend of them
    (weights fitted on earlier backtest forecasts only); the best on the backtest's deviance
    with calibrated coverage is fitted on all the data and registered, whatever its kind.

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
    runner
        Where the backtest's fits and the final fit run (:mod:`pipelines.cluster`): this
        process by default, or a Dask cluster, with the same selection and numbers; the run
        records where (tags ``compute.where``, ``compute.workers``). A cluster spreads a
        LightGBM fit from its ``distributed_rows`` rows over its workers (``lightgbm.dask``;
        no longer the same numbers to the last digit), and the run records how many fits it
        spread and whether the final fit was one (``compute.distributed_fits``,
        ``compute.final_fit``: ``lightgbm.dask`` or ``one process``, with its rows and
        partitions).

    Raises
    ------
    CrossplanError
        Bad data (``DataValidationError``), bad options or an unreachable store
        (``ConfigurationError``), all before any MLflow run starts.
    """
    started = time.perf_counter()
    if horizon < 1:
        raise ConfigurationError(f"the horizon must be at least 1, got {horizon}")
    if origins < 1 or refit_every < 1:
        raise ConfigurationError("backtest origins and refit interval must be at least 1")
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
            f"use {max(n_periods - 3, 1)} backtest origins or fewer"
        )
    client = tracking.connect(tracking_uri)
    here = runner or Local()
    models = candidates(horizon, has_effort=ds.has_effort, random_state=random_state)
    if here.distributed_rows is not None:  # a cluster that spreads fits has room for every row
        models = {n: every_row(m) for n, m in models.items()}
    total = len(models) * origins + 3
    report = progress or (lambda done, total, label: None)
    folds: dict[str, Any] = {"origins": origins, "horizon": horizon,
                             "refit_every": refit_every, "frequency": ds.frequency}  # fmt: skip
    comparison = compare(
        ds.incidents, ds.regions, ds.adjacency, models,
        has_effort=ds.has_effort, truth=truth, progress=report, seed=random_state,
        runner=here, **folds,
    )  # fmt: skip
    result, weights, selection = comparison.result, comparison.weights, comparison.selection
    observed = {name: m["observed"] for name, m in result.metrics().items()}
    chosen = selection.candidate
    done = len(models) * origins
    report(done, total, f"final fit: {chosen}")
    template = _final_model(chosen, models, weights, horizon)
    before = len(here.distributed_fits)
    (final,) = here.run(_fit, [{"model": template}], {"panel": ds.incidents,
                          "regions": ds.regions, "adjacency": ds.adjacency,
                          "frequency": ds.frequency},
                        rows=[lightgbm_rows(template, ds.incidents)])  # fmt: skip
    compute = _compute_tags(here, len(here.distributed_fits) - before)
    report(done + 1, total, "champion on the same window")
    window = window_tag(result, refit_every)
    champion, champion_v = _champion_metrics(client, ds, window, fingerprint, folds, here)
    decision = registry.gate(observed[chosen], champion, champion_v, selection)
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
        CANDIDATE_TAG: chosen,
        **compute,
        RUN_KIND_TAG: "train",
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
                **selection.coverage_window.to_params(),
                **({"input.as_of": source["input.as_of"]} if panel is not None else {}),
            }
        )
        log_panel(ds, fingerprint, source, "training")
        log_scores(result, chosen)
        log_backtest(result, selection)
        info = {
            "trained_at": trained_at,
            "training_window": (tags["training.start"], tags["training.end"]),
            "fingerprint": fingerprint,
            "frequency": ds.frequency,
            "horizon": horizon,
            "target": final.target_,
            "candidate": chosen,
            "selection": selection.to_dict(),
            "regions": len(ds.regions),
            "categories": ds.categories,
            "backtest_origins": origins,
            "params": final.get_params(),
        }
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            importances = _importances(final)
            if importances is not None:
                plot_feature_importance(*importances, out / "feature_importance.png")
                mlflow.log_artifact(str(out / "feature_importance.png"), "plots")
            (out / "model_card.md").write_text(model_card(info, summary["models"], detection))
            (out / "detection_model.json").write_text(json.dumps(detection, indent=2))
            for name in ("model_card.md", "detection_model.json"):
                mlflow.log_artifact(str(out / name))
        example = ds.incidents[ds.incidents["period"] >= periods[max(len(periods) - 8, 0)]]
        logged = log_pyfunc(final, example, registered_model_name=registry.MODEL_NAME)
        version = str(logged.registered_model_version)
        registry.set_challenger(client, version)
        registry.describe(client, version, _version_description(info, source, decision),
                          _version_tags(tags, origins))  # fmt: skip
        mlflow.set_tags({"promotion.gate": decision.reason, "registered.version": version})
        mlflow.log_dict(decision.to_dict(), "promotion.json")
        if decision.promote:
            registry.promote(client, version, decision.reason, by="gate")
        run_id, experiment_id = run.info.run_id, run.info.experiment_id
    report(total, total, "done")
    uri = tracking.resolve_tracking_uri(tracking_uri)
    return TrainResult(
        run_id=run_id,
        version=version,
        decision=decision,
        selection=selection,
        backtest=summary,
        seconds=time.perf_counter() - started,
        tracking_uri=uri,
        ui_url=tracking.ui_url(uri, experiment_id, run_id),
    )
