"""What a run logs for the people who read it in MLflow, training and backtest alike.

Beside the scores as metrics, a data scientist opening a run finds the panel it was computed
on as an MLflow dataset (``mlflow.data``: name, source, digest, as-of time), every backtest
forecast, the metrics per horizon and per country as tables, and the calibration of the
intervals per level as a table and a plot. ``crossplan train`` and ``crossplan backtest``
both log through here, so their runs read alike and compare in the same experiment.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.pandas_dataset import from_pandas
from mlflow.tracking import MlflowClient

from crossplan.models.pyfunc import pyfunc_input
from crossplan.pipelines import tracking
from crossplan.pipelines.backtest import BacktestResult
from crossplan.pipelines.contract import Dataset, input_fingerprint
from crossplan.pipelines.conventions import PANEL_DATASET, RUN_KIND_TAG
from crossplan.pipelines.metrics import calibration_by_level
from crossplan.pipelines.plots import plot_backtest, plot_calibration, plot_calibration_levels
from crossplan.pipelines.selection import Selection

__all__ = [
    "DIGEST_LENGTH",
    "PanelSource",
    "log_backtest",
    "log_backtest_run",
    "log_panel",
    "log_scores",
    "window_tag",
]

#: The longest dataset digest MLflow stores: a panel's digest is its fingerprint's start.
DIGEST_LENGTH = 36


class PanelSource(DatasetSource):
    """Where a panel came from, as the run's ``input.*`` tags say: a data directory
    (``data_dir``) or the shared database (``source``, ``as_of``)."""

    def __init__(self, **where: str) -> None:
        self._where = where

    @staticmethod
    def _get_source_type() -> str:
        return "crossplan"

    def load(self, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "read the panel with crossplan.pipelines.contract.load_dataset (data directory) "
            "or crossplan.pipelines.database.load_panel (as of its time)"
        )

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> PanelSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, str]:
        return dict(self._where)

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> PanelSource:
        return cls(**{str(k): str(v) for k, v in source_dict.items()})


def log_panel(ds: Dataset, fingerprint: str, source: Mapping[str, str], context: str) -> None:
    """Log the panel as the active run's input dataset :data:`PANEL_DATASET`.

    Parameters
    ----------
    fingerprint
        The panel's SHA-256: the digest is its first :data:`DIGEST_LENGTH` characters (the
        most MLflow stores), the input's ``input.fingerprint`` tag the whole of it.
    source
        The run's ``input.*`` tags (``input.data_dir``, or ``input.source`` and
        ``input.as_of``); they become the dataset's source and the input's tags.

    The dataset holds the panel with the plain dtypes of the pyfunc's signature
    (:func:`models.pyfunc.pyfunc_input`), so its schema in MLflow is the model's input.
    context
        ``training`` or ``backtest``.
    """
    where = {k.removeprefix("input."): v for k, v in source.items()}
    dataset = from_pandas(  # mlflow.data.from_pandas
        pyfunc_input(ds.incidents),  # the dtypes of the model's signature, schema alike
        source=PanelSource(**where),
        name=PANEL_DATASET,
        digest=fingerprint[:DIGEST_LENGTH],
    )
    periods = ds.periods
    tags = {
        "input.fingerprint": fingerprint,
        **source,
        "panel.start": f"{periods[0]:%Y-%m-%d}",
        "panel.end": f"{periods[-1]:%Y-%m-%d}",
        "panel.frequency": ds.frequency,
    }
    mlflow.log_input(dataset, context=context, tags=tags)


def window_tag(result: BacktestResult, refit_every: int) -> str:
    """The backtest window as the ``backtest.window`` tag: first..last origin, horizon, refit."""
    first, last = result.origins[0], result.origins[-1]
    return f"{first:%Y-%m-%d}..{last:%Y-%m-%d}/h{result.horizon}/refit{refit_every}"


def log_scores(result: BacktestResult, chosen: str) -> None:
    """Every candidate's metrics overall and per horizon, and the chosen one's per country."""
    flat: dict[str, float] = {}
    for model, scopes in result.metrics().items():
        for scope, values in scopes.items():
            flat.update({f"{model}.{scope}.{k}": v for k, v in values.items()})
    for model, scopes in result.metrics("horizon").items():
        for scope, by_h in scopes.items():
            for h, values in by_h.items():
                flat.update({f"{model}.{scope}.{k}.h{h}": v for k, v in values.items()})
    for scope, by_c in result.metrics("country")[chosen].items():
        for c, values in by_c.items():
            flat.update({f"{chosen}.{scope}.{k}.{c}": v for k, v in values.items()})
    mlflow.log_metrics({k: float(v) for k, v in flat.items() if pd.notna(v)})


def _table(result: BacktestResult, by: str) -> pd.DataFrame:
    """``model, scope, {by}, <metrics>``: one row per candidate, scope and group."""
    rows = [
        {"model": model, "scope": scope, by: group, **values}
        for model, scopes in result.metrics(by).items()
        for scope, groups in scopes.items()
        for group, values in groups.items()
    ]
    return pd.DataFrame(rows)


# What the calibration table and the plots read of the forecast rows.
_PLOTTED = ["model", "horizon", "period", "actual", "prediction", "q10", "q90", "pit_lo", "pit_hi"]


def log_backtest(result: BacktestResult, selection: Selection) -> None:
    """Log the backtest to the active run: forecasts, tables, plots, summary and verdict.

    Artifacts: ``backtest/predictions.parquet`` (every forecast: model, origin, horizon,
    region, category, period, observed ``actual``, mean ``prediction``, ``q10``, ``q90``,
    PIT bounds), ``backtest/metrics_by_horizon.csv``, ``backtest/metrics_by_country.csv``,
    ``backtest/calibration_by_level.csv``, ``plots/backtest.png``, ``plots/calibration.png``,
    ``plots/calibration_levels.png``, ``backtest.json`` and ``selection.json``.
    """
    # The columns the tables and plots need, not every row's every column.
    pred = result.rows.read(columns=_PLOTTED)
    levels = calibration_by_level(pred)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        tables = out / "backtest"
        tables.mkdir()
        result.rows.write(tables / "predictions.parquet")
        _table(result, "horizon").to_csv(tables / "metrics_by_horizon.csv", index=False)
        _table(result, "country").to_csv(tables / "metrics_by_country.csv", index=False)
        levels.to_csv(tables / "calibration_by_level.csv", index=False)
        plots = out / "plots"
        plots.mkdir()
        window = selection.coverage_window
        plot_backtest(pred, plots / "backtest.png")
        plot_calibration(pred, plots / "calibration.png", window)
        plot_calibration_levels(levels, plots / "calibration_levels.png", window,
                                selection.candidate)  # fmt: skip
        summary = json.dumps(result.to_json(), indent=2, default=str)
        (out / "backtest.json").write_text(summary)
        mlflow.log_artifacts(str(out))
    mlflow.log_dict(selection.to_dict(), "selection.json")


def log_backtest_run(
    client: MlflowClient,
    data_dir: Path,
    ds: Dataset,
    result: BacktestResult,
    selection: Selection,
    refit_every: int,
) -> dict[str, str]:
    """A backtest run of its own in the experiment (tag ``crossplan.kind = backtest``).

    It holds what a training run holds of its backtest (:func:`log_panel`,
    :func:`log_scores`, :func:`log_backtest`), the winner by training's rule as the
    ``backtest.winner`` tag, and the backtest's origins, horizon, refit interval and models
    as parameters.

    Returns
    -------
    dict
        ``run_id``, ``tracking_uri`` and ``mlflow_ui`` (:func:`pipelines.tracking.ui_url`).
    """
    fingerprint = input_fingerprint(data_dir)
    source = {"input.data_dir": str(data_dir.resolve())}
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    tags = {
        RUN_KIND_TAG: "backtest",
        "input.fingerprint": fingerprint,
        **source,
        "backtest.window": window_tag(result, refit_every),
        "backtest.winner": selection.candidate,
    }
    params = {
        "backtest.origins": len(result.origins),
        "backtest.horizon": result.horizon,
        "backtest.refit_every": refit_every,
        "models": ",".join(result.rows.models),
        "frequency": ds.frequency,
        "regions": len(ds.regions),
        "periods": len(ds.periods),
        **selection.coverage_window.to_params(),
    }
    with tracking.tracked_run(client, f"backtest {stamp}", tags) as run:
        mlflow.log_params(params)
        log_panel(ds, fingerprint, source, "backtest")
        log_scores(result, selection.candidate)
        log_backtest(result, selection)
    uri = str(client.tracking_uri)
    return {
        "run_id": run.info.run_id,
        "tracking_uri": uri,
        "mlflow_ui": tracking.ui_url(uri, run.info.experiment_id, run.info.run_id),
    }
