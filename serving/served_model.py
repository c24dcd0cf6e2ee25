"""A forecasting model as the service serves it: the model, its card, where it came from,
and its forecasts and answers, computed once per reader's view and horizon.

:class:`ServedModel` wraps the MLflow champion (or a local copy of it, or a forecast table
served instead, :class:`ForecastFile`); :class:`serving.snapshot.Snapshot` pairs it with a
panel. Forecasts are deterministic for a model and a panel, so each view's forecast of each
horizon is computed once and each distinct ``/forecast`` answer serialised once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from crossplan.optimize.forecast import FORECAST_COLUMNS, forecast_problems
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.contract.forecast_table import read_forecast_table
from crossplan.pipelines.errors import (
    ConfigurationError,
    CrossplanError,
    DataValidationError,
    Problem,
)

__all__ = ["ForecastFile", "Forecaster", "ServedModel", "card_of", "check_names"]

# Distinct /forecast answers kept per model.
_CACHED_ANSWERS = 256


class Forecaster(Protocol):
    """What the service needs of a model (``pipelines.forecasting.LoadedModel`` has it)."""

    name: str
    version: Any
    trained_at: Any
    training_window: Any
    metrics: Any
    detection_model: Any

    @property
    def horizon(self) -> int:
        """The most periods ahead it forecasts."""
        ...

    def predict(
        self,
        dataset: Dataset,
        horizon: int,
        regions: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> pd.DataFrame: ...


class ForecastFile:
    """A forecast table (CSV or Parquet, the columns of docs/design.md, "Forecast semantics")
    served as if it were a model.

    For forecasts made elsewhere, and for testing the service without a trained model. The
    version is the file's SHA-256 prefix, so plans record exactly which table they used.

    Parameters
    ----------
    path
        The table; its first ``horizon`` periods answer a request for ``horizon``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            table = read_forecast_table(path)
            data = path.read_bytes()
        except DataValidationError as err:  # a setting of the service: no row to point at
            raise ConfigurationError(f"{path}: {err.problems[0].message}") from None
        except OSError as err:
            raise ConfigurationError(f"{path}: cannot read the forecast file ({err})") from None
        problems = forecast_problems(table, None, path.name)
        if problems:
            raise ConfigurationError(
                f"{path} is not a forecast table:\n" + "\n".join(f"  - {p}" for p in problems)
            )
        if "category" not in table.columns:
            table["category"] = "all"
        table["period"] = pd.to_datetime(table["period"])
        self.table = table[list(FORECAST_COLUMNS)]
        self.name = "forecast-file"
        self.version = hashlib.sha256(data).hexdigest()[:12]
        self.trained_at = None
        periods = sorted(self.table["period"].unique())
        self.training_window = None
        self.metrics: dict[str, Any] = {}
        rates = self.table.groupby("category")["detection_rate"].mean()
        self.detection_model = {"kappa": {str(k): float(v) for k, v in rates.items()}}
        self._periods = periods

    @property
    def horizon(self) -> int:
        """Largest horizon: the number of periods in the table."""
        return len(self._periods)

    def predict(
        self,
        dataset: Dataset,
        horizon: int,
        regions: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        if horizon > len(self._periods):
            raise CrossplanError(
                f"the forecast file {self.path.name} covers {len(self._periods)} periods, "
                f"not {horizon} — fix: ask for {len(self._periods)} periods ahead or fewer"
            )
        out = self.table[self.table["period"].isin(self._periods[:horizon])]
        if regions is not None:
            out = out[out["region_id"].isin(regions)]
        if categories is not None:
            out = out[out["category"].isin(categories)]
        return out.reset_index(drop=True)


def card_of(model: Forecaster) -> dict[str, Any]:
    window = model.training_window
    return {
        "name": str(model.name),
        "version": str(model.version),
        "trained_at": None if model.trained_at is None else str(model.trained_at),
        "training_window": (
            None if window is None else {"start": str(window[0]), "end": str(window[1])}
        ),
        "horizon": getattr(model, "horizon", None),
        "metrics": _plain(model.metrics or {}),
        "detection_model": _plain(model.detection_model or {}),
        "selection": _plain(getattr(model, "selection", None) or {}),
    }


def _plain(value: Any) -> Any:
    """JSON-safe copy (numpy scalars and timestamps become numbers and strings)."""
    return json.loads(
        json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


@dataclass(eq=False)
class ServedModel:
    """A loaded model with its card and where it came from.

    Attributes
    ----------
    source
        ``mlflow``, ``local copy`` or ``forecast file``.
    degraded
        True when a local copy is served: MLflow could not give the champion, or has not
        been asked yet (a start serves the copy at once, see :func:`load_snapshot`).
    reason
        Why the service is degraded, if it is.
    confirmed
        False while a local copy serves that MLflow has not been asked about.
    """

    forecaster: Forecaster
    card: dict[str, Any]
    source: str
    degraded: bool = False
    reason: str | None = None
    confirmed: bool = True
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    _tables: dict[tuple[Hashable, int], pd.DataFrame] = field(default_factory=dict, repr=False)
    _answers: OrderedDict[tuple[Any, ...], bytes] = field(default_factory=OrderedDict, repr=False)
    # Forecasting holds the first; looking up an answer (on the event loop) only the second,
    # so a cached answer never waits for another reader's forecast.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _answers_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ref(self) -> dict[str, Any]:
        return {k: self.card[k] for k in ("name", "version", "trained_at")}

    def table(self, dataset: Dataset, horizon: int, view: Hashable = None) -> pd.DataFrame:
        """The forecast of every region and category, ``horizon`` periods ahead.

        ``view`` names the reader's view of the panel that ``dataset`` is (``None``: the panel
        itself); forecasts are kept per view and horizon.
        """
        with self._lock:
            if (view, horizon) not in self._tables:
                frame = self.forecaster.predict(dataset, horizon)
                frame = frame.sort_values(["region_id", "category", "period"], ignore_index=True)
                self._tables[view, horizon] = frame[list(FORECAST_COLUMNS)]
            return self._tables[view, horizon]

    def cached_answer(
        self,
        horizon: int,
        regions: Sequence[str] | None,
        categories: Sequence[str] | None,
        view: Hashable = None,
    ) -> bytes | None:
        """The ``/forecast`` response body if this question was answered before."""
        key = _question(horizon, regions, categories, view)
        with self._answers_lock:
            body = self._answers.get(key)
            if body is not None:
                self._answers.move_to_end(key)
            return body

    def fresh_copy(self) -> ServedModel:
        """The same model with empty caches, for a new panel."""
        return dataclasses.replace(
            self,
            _tables={},
            _answers=OrderedDict(),
            _lock=threading.Lock(),
            _answers_lock=threading.Lock(),
        )

    def answer(
        self,
        dataset: Dataset,
        horizon: int,
        regions: Sequence[str] | None,
        categories: Sequence[str] | None,
        about: dict[str, Any] | None = None,
        view: Hashable = None,
        shown: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    ) -> bytes:
        """The ``/forecast`` response body, serialised once per distinct question.

        ``dataset`` is the reader's view of the panel, named by ``view``, and ``shown`` keeps
        the rows the reader may read (:class:`serving.sharing.SharingPolicy`).

        Raises
        ------
        DataValidationError
            Unknown regions or categories, each with its place in the request.
        """
        cached = self.cached_answer(horizon, regions, categories, view)
        if cached is not None:
            return cached
        key = _question(horizon, regions, categories, view)
        check_names(dataset, regions, categories)
        table = self.table(dataset, horizon, view)
        if shown is not None:
            table = shown(table)
        if regions is not None:
            table = table[table["region_id"].isin(regions)]
        if categories is not None:
            table = table[table["category"].isin(categories)]
        rows = table.assign(period=table["period"].dt.strftime("%Y-%m-%d")).to_dict("records")
        answer = {"model": self.ref, "forecasts": rows, **(about or {})}
        body = json.dumps(answer, separators=(",", ":")).encode()
        with self._answers_lock:
            self._answers[key] = body
            if len(self._answers) > _CACHED_ANSWERS:
                self._answers.popitem(last=False)
        return body


def _question(
    horizon: int,
    regions: Sequence[str] | None,
    categories: Sequence[str] | None,
    view: Hashable = None,
) -> tuple[Any, ...]:
    return (
        view,
        horizon,
        None if regions is None else tuple(regions),
        None if categories is None else tuple(categories),
    )


def check_names(
    dataset: Dataset,
    regions: Sequence[str] | None,
    categories: Sequence[str] | None,
    fields: tuple[str, str] = ("regions", "categories"),
) -> None:
    """400 (:class:`DataValidationError`) for a region or category the panel does not have;
    ``fields`` name the request's two lists in the problems."""
    problems: list[Problem] = []
    known = set(dataset.regions["region_id"])
    for i, rid in enumerate(regions or []):
        if rid not in known:
            problems.append(
                Problem(
                    "request",
                    f"unknown region '{rid}'",
                    "use a region_id of the served panel (GET /model lists the panel)",
                    f"{fields[0]}[{i}]",
                )
            )
    cats = set(dataset.categories)
    for i, cat in enumerate(categories or []):
        if cat not in cats:
            problems.append(
                Problem(
                    "request",
                    f"unknown category '{cat}'",
                    f"use one of {', '.join(sorted(cats))}",
                    f"{fields[1]}[{i}]",
                )
            )
    if problems:
        raise DataValidationError(problems)
