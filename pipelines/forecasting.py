"""The champion model, loaded from the MLflow registry, as the planner and service use it.

MLflow is imported only to load a champion: the service unpickles its local copy of a
:class:`LoadedModel` at a start without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crossplan.models import PanelForecaster
from crossplan.models.errors import PanelError
from crossplan.optimize.forecast import FORECAST_COLUMNS
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.conventions import (
    CANDIDATE_TAG,
    GATE_METRIC,
    INTERVAL_METRICS,
    MODEL_NAME,
    CoverageWindow,
)
from crossplan.pipelines.errors import (
    ConfigurationError,
    CrossplanError,
    DataValidationError,
    Problem,
)
from crossplan.pipelines.plan_request import ModelForecast, ModelRef

__all__ = ["LoadedModel", "champion_forecast", "load_champion"]

GATE = GATE_METRIC


@dataclass
class LoadedModel:
    """A registered model version with what is known about it.

    Attributes
    ----------
    name, version
        Registered model name and version.
    trained_at
        ISO timestamp of the training run.
    training_window
        First and last period (ISO dates) of the training data.
    metrics
        The main model's backtest metrics, ``{"observed": {...}, "truth": {...}}``.
        The chosen candidate's backtest metrics, ``{"observed": {...}, "truth": {...}}``.
    detection_model
        ``kappa`` per category and ``reporting_rate`` per country (empty for count models),
        with their bootstrap intervals.
    forecaster
        The fitted forecaster.
    selection
        ``candidate`` (what kind of model this is), ``decision`` (why it was registered and
        promoted or not), ``candidates``: every candidate's observed deviance and
        coverage on the same backtest window, and ``coverage_window`` (``lo``, ``hi``): the
        coverage a candidate needed to be eligible (absent for runs that did not record it).
    """

    name: str
    version: str
    trained_at: str | None
    training_window: tuple[str, str] | None
    metrics: dict[str, dict[str, float]]
    detection_model: dict[str, Any]
    forecaster: PanelForecaster = field(repr=False)
    selection: dict[str, Any] = field(default_factory=dict)

    @property
    def horizon(self) -> int:
        """Largest horizon the model forecasts."""
        return int(self.forecaster.horizon)

    def predict(
        self,
        dataset: Dataset | pd.DataFrame,
        horizon: int,
        regions: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Forecast table for the periods after the panel's last.

        Its columns are those of docs/design.md, "Forecast semantics".

        Raises
        ------
        ConfigurationError
            When ``horizon`` is not within 1..``self.horizon``.
        DataValidationError
            When the panel does not fit the model (unknown regions or categories, no effort
            for an effort-aware model, another frequency).
        """
        if not 1 <= int(horizon) <= self.horizon:
            raise ConfigurationError(
                f"horizon must be between 1 and {self.horizon} for model version "
                f"{self.version}, got {horizon} — fix: ask for {self.horizon} periods ahead "
                "or fewer (the model card's horizon)"
            )
        panel = dataset.incidents if isinstance(dataset, Dataset) else dataset
        try:
            table = self.forecaster.predict(
                panel,
                horizon=int(horizon),
                regions=None if regions is None else list(regions),
                categories=None if categories is None else list(categories),
            )
        except PanelError as err:
            raise DataValidationError(
                [
                    Problem(
                        "incidents",
                        f"the panel does not fit model {self.name} v{self.version}: {err}",
                        "forecast the regions, categories and frequency the model was trained "
                        "on, or retrain it on this data (crossplan train)",
                    )
                ]
            ) from err
        return table[list(FORECAST_COLUMNS)]


def _metrics(run_metrics: dict[str, float], candidate: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, value in run_metrics.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == candidate:
            out.setdefault(parts[1], {})[parts[2]] = float(value)
    return out


def _selection(
    tags: dict[str, str], run_metrics: dict[str, float], params: dict[str, str]
) -> dict[str, Any]:
    scores: dict[str, dict[str, float]] = {}
    for key, value in run_metrics.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[1] == "observed" and parts[2] in (GATE, *INTERVAL_METRICS):
            scores.setdefault(parts[0], {})[parts[2]] = float(value)
    window = CoverageWindow.from_params(params)
    return {
        "candidate": tags.get(CANDIDATE_TAG, "lightgbm"),
        "decision": tags.get("promotion.gate"),
        "candidates": scores,
        **({} if window is None else {"coverage_window": window.to_dict()}),
    }


def load_champion(tracking_uri: str | None = None) -> LoadedModel:
    """The ``champion`` version of ``crossplan-risk``.

    Raises
    ------
    ConfigurationError
        When the store cannot be reached or holds no champion.
    """
    from crossplan.pipelines import registry, tracking

    client = tracking.connect(tracking_uri)
    version = registry.champion_version(client)
    if version is None:
        raise ConfigurationError(
            f"no champion model '{MODEL_NAME}' in the MLflow store "
            f"{tracking.resolve_tracking_uri(tracking_uri)} — fix: train one (crossplan "
            "train) or promote a registered version (crossplan promote)"
        )
    forecaster = registry.load_forecaster(version.version)
    tags: dict[str, str] = {}
    metrics: dict[str, float] = {}
    params: dict[str, str] = {}
    if version.run_id:
        run = client.get_run(version.run_id)
        tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
    window = None
    if "training.start" in tags:
        window = (tags["training.start"], tags["training.end"])
    return LoadedModel(
        name=MODEL_NAME,
        version=str(version.version),
        trained_at=tags.get("trained_at"),
        training_window=window,
        metrics=_metrics(metrics, tags.get(CANDIDATE_TAG, "lightgbm")),
        detection_model=forecaster.detection_summary(),
        forecaster=forecaster,
        selection=_selection(tags, metrics, params),
    )


def champion_forecast(
    dataset: Dataset | pd.DataFrame, horizon: int, tracking_uri: str | None = None
) -> ModelForecast:
    """The champion's forecast ``horizon`` periods ahead, and which model made it.

    Raises
    ------
    ConfigurationError
        There is no model store where the project keeps one (asking MLflow would create an
        empty one there), it holds no champion, or the champion cannot forecast the dataset;
        each says how to get a forecast.
    """
    from crossplan.pipelines.home import default_tracking_uri, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    if uri == default_tracking_uri() and not Path(uri.removeprefix("sqlite:///")).exists():
        raise ConfigurationError(
            f"no model store at {uri.removeprefix('sqlite:///')} — fix: run in the project "
            "(or set CROSSPLAN_HOME or MLFLOW_TRACKING_URI), train a model first "
            "(crossplan train --data DIR), or plan on a forecast of your own (--forecast FILE)"
        )
    try:
        loaded = load_champion(uri)
        table = loaded.predict(dataset, horizon)
    except CrossplanError as err:
        raise ConfigurationError(
            f"{err}; or plan on a forecast of your own (--forecast FILE)"
        ) from None
    ref = ModelRef(name=loaded.name, version=str(loaded.version), trained_at=loaded.trained_at)
    return ModelForecast(table, ref)
