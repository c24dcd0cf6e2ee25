"""What the service forecasts from: the panel and the model, loaded together as one snapshot.

A :class:`Snapshot` never changes once built; reloading the model, or a new submission to
the shared database, builds a new one and swaps it in, so a request that started on the old
snapshot finishes on it. Forecasts are deterministic for a snapshot, so each horizon is
computed once and each answer serialised once.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from crossplan.optimize.forecast import QUANTILE_COLUMNS
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import (
    Database,
    PanelVersion,
    Submitter,
    import_directory,
    last_good_panel,
    load_panel,
)
from crossplan.pipelines.database.panel import NoPanelError
from crossplan.pipelines.freshness import Freshness, View, freshness
from crossplan.pipelines.home import resolve_tracking_uri
from crossplan.serving import modelstore
from crossplan.serving.http_errors import ModelUnavailableError
from crossplan.serving.served_model import Forecaster, ForecastFile, ServedModel, card_of
from crossplan.serving.settings import Settings
from crossplan.serving.sharing import OPERATOR

__all__ = [
    "CONFIRMING",
    "Snapshot",
    "UnforecastablePanelError",
    "confirmed",
    "forecasts",
    "load_snapshot",
    "refreshed",
]

log = logging.getLogger(__name__)

_WARM_HORIZON = 4
# How the reason of a start's local copy ends until MLflow has been asked about it.
CONFIRMING = "until MLflow confirms the champion"
# Where things are stored, as an error message may say it: a URI, or an absolute file path.
_LOCATION = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://\S*[^\s.,:;)]|(?<![\w.])/[^\s'\"()]*[^\s'\"().,:;]"
)


class UnforecastablePanelError(Exception):
    """The served model cannot forecast a new panel (the last good one keeps serving)."""

    def __init__(self, panel: PanelVersion, cause: Exception) -> None:
        super().__init__(_first_line(cause))
        self.panel = panel


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The panel (a version of the shared database) and the model (``None`` when none loaded)."""

    panel: PanelVersion
    source: str
    model: ServedModel | None
    reason: str | None = None

    @property
    def dataset(self) -> Dataset:
        return self.panel.dataset

    @property
    def data_fingerprint(self) -> str:
        return self.panel.fingerprint

    def freshness(self, today: datetime | None = None) -> Freshness:
        """The newest period per country and warnings when data stop early (as of ``today``)."""
        return freshness(
            self.dataset, pd.Timestamp(today or datetime.now(UTC).replace(tzinfo=None))
        )

    def about_data(self, fresh: Freshness | None = None) -> dict[str, Any]:
        """What forecasts and plans say about their data: as-of time, fingerprint, freshness
        (``fresh``, a reader's view's, with its own as-of time and fingerprint; default: the
        whole panel's), warnings."""
        fresh = fresh or self.freshness()
        return {"data": {**self._version(fresh), **fresh.to_dict()}, "warnings": fresh.warnings}

    def _version(self, view: Freshness | View | None) -> dict[str, str | None]:
        """As-of time and fingerprint: ``view``'s when it has them, else the panel's."""
        if view is None or view.fingerprint is None:
            return {"as_of": self.panel.as_of_iso, "fingerprint": self.panel.fingerprint}
        return {"as_of": view.as_of, "fingerprint": view.fingerprint}

    def require_model(self) -> ServedModel:
        """The model, or :class:`ModelUnavailableError` saying why there is none and what to do."""
        if self.model is None:
            raise ModelUnavailableError(
                f"{self.reason or 'no model is loaded'} — fix: train and promote a model "
                "(crossplan train), then POST /admin/reload"
            )
        return self.model

    def card(self, view: View | None = None, *, storage: bool = True) -> dict[str, Any]:
        """What ``GET /model`` answers (:class:`serving.schemas.ModelCard`): the data's as-of
        time and fingerprint are ``view``'s (a reader's; default: the panel's), and where
        things are stored is said only with ``storage`` (to the operator's admins)."""
        m = self.model
        card: dict[str, Any] = {
            "name": None,
            "version": None,
            "trained_at": None,
            "training_window": None,
            "horizon": None,
            "metrics": {},
            "detection_model": {},
            "selection": {},
        }
        if m is not None:
            card.update(m.card)
        reason = self.reason if m is None else m.reason
        source = None if m is None else m.source
        if not storage and reason is not None:
            reason = _LOCATION.sub("<location>", reason)
        if not storage and source is not None:
            source = _LOCATION.sub("<location>", source)
        return {
            **card,
            "loaded": m is not None,
            "degraded": bool(m and m.degraded),
            "reason": reason,
            "source": source,
            "loaded_at": None if m is None else m.loaded_at,
            "data": self.describe_data(view, storage=storage),
        }

    def model_labels(self) -> dict[str, str] | None:
        """Labels of the served model in the ``crossplan_model_info`` metric."""
        m = self.model
        if m is None:
            return None
        return {
            "name": m.card["name"],
            "version": m.card["version"],
            "source": m.source,
            "degraded": str(m.degraded).lower(),
        }

    def describe_data(self, view: View | None = None, *, storage: bool = True) -> dict[str, Any]:
        """The card's ``data``: see :meth:`card`."""
        periods = self.dataset.periods
        return {
            "database": self.source if storage else None,
            **self._version(view),
            "regions": len(self.dataset.regions),
            "categories": self.dataset.categories,
            "frequency": self.dataset.frequency,
            "first_period": f"{periods[0]:%Y-%m-%d}",
            "last_period": f"{periods[-1]:%Y-%m-%d}",
            "newest_period": self.freshness().newest_period,
        }


def current_panel(settings: Settings, db: Database) -> PanelVersion:
    """The current panel of the database; a new database first imports the data directory.

    When the latest panel does not build, the latest one before it that does (logged): the
    service starts on it and says it is not ready.

    Raises
    ------
    ConfigurationError
        The database holds no panel and there is no data directory to import.
    DataValidationError
        The data directory breaks the data contract.
    """
    try:
        panel, broken = last_good_panel(db)
    except NoPanelError:
        if not settings.data_dir.is_dir():
            raise
    else:
        if broken is not None:
            log.error("%s — serving the panel as of %s", broken, panel.as_of_iso)
        return panel
    log.info("the database holds no panel yet: importing %s", settings.data_dir)
    import_directory(db, settings.data_dir, Submitter("service"))
    return load_panel(db)


def load_snapshot(settings: Settings, db: Database, *, copy_first: bool = False) -> Snapshot:
    """Load the current panel and the model the settings point at.

    The model comes from ``CROSSPLAN_FORECAST_FILE`` when set; otherwise the MLflow champion
    (kept as a local copy), or the local copy when MLflow cannot give it (degraded).

    Parameters
    ----------
    copy_first
        Serve the newest local copy kept from the configured MLflow store, when there is one
        that forecasts the panel, without asking MLflow (which takes seconds to import and
        open): the model is degraded and unconfirmed (:data:`CONFIRMING`) until the caller
        asks MLflow with another :func:`load_snapshot`. A start does this.

    Raises
    ------
    ConfigurationError, DataValidationError
        See :func:`current_panel`.
    """
    unconfirmed = None
    if copy_first and settings.forecast_file is None:
        # The copy unpickles (importing scikit-learn and LightGBM) while the panel loads.
        with ThreadPoolExecutor(1, thread_name_prefix="local-copy") as pool:
            copy = pool.submit(_unconfirmed_copy, settings)
            panel = current_panel(settings, db)
            unconfirmed = copy.result()
    else:
        panel = current_panel(settings, db)
    if unconfirmed is not None:
        snapshot = _warmed(Snapshot(panel, db.describe(), unconfirmed))
        if snapshot.model is not None:
            return snapshot
    model, reason = _load_model(settings)
    return _warmed(Snapshot(panel, db.describe(), model, reason))


def confirmed(snapshot: Snapshot, by: Snapshot) -> Snapshot:
    """What serves once MLflow was asked after a start on an unconfirmed local copy: ``by``
    (the champion, or the copy again, degraded and saying why), or, when ``by`` has no model
    that forecasts the panel, the copy served so far, saying why it stays."""
    if by.model is not None:
        return by
    model = snapshot.require_model()
    version = model.card.get("version")
    stays = dataclasses.replace(
        model, confirmed=True, reason=f"serving the local copy of version {version}: {by.reason}"
    )
    return Snapshot(snapshot.panel, snapshot.source, stays)


def refreshed(snapshot: Snapshot, db: Database, as_of: datetime | None = None) -> Snapshot:
    """The same model on the database's panel as of ``as_of`` (default: its current one,
    after a submission): no retraining. The new panel is forecast before it is returned.

    Raises
    ------
    UnforecastablePanelError
        The model serving ``snapshot`` cannot forecast the new panel (it fails, or gives
        values that are not finite numbers): the caller keeps serving ``snapshot``.
    PanelBuildError
        The database's cells do not make a panel.
    """
    panel = load_panel(db, as_of)
    if snapshot.model is None:
        return Snapshot(panel, snapshot.source, None, snapshot.reason)
    model = snapshot.model.fresh_copy()
    try:
        forecasts(model, panel.dataset)
    except Exception as err:
        log.exception("the model cannot forecast the panel as of %s", panel.as_of_iso)
        raise UnforecastablePanelError(panel, err) from err
    return Snapshot(panel, snapshot.source, model, snapshot.reason)


def forecasts(model: ServedModel, dataset: Dataset) -> pd.DataFrame:
    """The operator's forecast of the first horizons (kept by ``model`` for every reader
    that reads the panel itself).

    Raises
    ------
    ValueError
        The forecast has values that are not finite numbers.
    """
    horizon = min(_WARM_HORIZON, model.card.get("horizon") or _WARM_HORIZON)
    table = model.table(dataset, horizon, OPERATOR)
    values = table[["activity_mean", *QUANTILE_COLUMNS.values()]].to_numpy(dtype="float64")
    if not np.isfinite(values).all():
        raise ValueError("the forecast's activity is not a finite number in some cells")
    return table


def _warmed(snapshot: Snapshot) -> Snapshot:
    """Forecast the first horizons now; a model that cannot forecast the panel is no model."""
    model = snapshot.model
    if model is None:
        return snapshot
    try:
        forecasts(model, snapshot.dataset)
    except Exception as err:
        log.exception("the model cannot forecast the panel as of %s", snapshot.panel.as_of_iso)
        reason = f"model {model.card['version']} cannot forecast the panel: {_first_line(err)}"
        return Snapshot(snapshot.panel, snapshot.source, None, reason)
    return snapshot


def _first_line(err: Exception) -> str:
    """What went wrong, in one line: the problems of a validation error, else the first line."""
    problems = getattr(err, "problems", None)
    if problems:
        return "; ".join(p.message for p in problems)
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _unconfirmed_copy(settings: Settings) -> ServedModel | None:
    """The newest local copy kept from the configured MLflow store, unconfirmed."""
    try:
        copy = modelstore.load_copy(store=resolve_tracking_uri(settings.tracking_uri))
    except Exception:  # an unreadable copy: MLflow is asked at once instead
        log.exception("cannot read the local copy of the champion")
        return None
    if copy is None:
        return None
    model, card = copy
    reason = f"serving the local copy of version {card.get('version')} {CONFIRMING}"
    return ServedModel(model, card, "local copy", degraded=True, reason=reason, confirmed=False)


def _load_model(settings: Settings) -> tuple[ServedModel | None, str | None]:
    if settings.forecast_file is not None:
        fc = ForecastFile(settings.forecast_file)
        return ServedModel(fc, card_of(fc), "forecast file"), None
    store = resolve_tracking_uri(settings.tracking_uri)
    try:
        champion = _champion(settings.tracking_uri)
    except Exception as err:  # MLflow down, no champion, or no forecasting code: fall back
        live_error = f"{type(err).__name__}: {err}".strip()
        copy = modelstore.load_copy(store=store) or modelstore.load_copy()
        if copy is None:
            return (
                None,
                f"no model: the MLflow champion is unavailable ({live_error}) and there is no local copy",
            )
        model, card = copy
        reason = f"serving the local copy of version {card.get('version')}: the MLflow champion is unavailable ({live_error})"
        log.warning(reason)
        return ServedModel(model, card, "local copy", degraded=True, reason=reason), None
    card = card_of(champion)
    try:
        modelstore.save_copy(champion, card, store=store)
    except Exception:  # the live model still serves; only the fallback is missing
        log.exception("could not keep a local copy of the champion")
    return ServedModel(champion, card, "mlflow"), None


def _champion(tracking_uri: str | None) -> Forecaster:
    from crossplan.pipelines.forecasting import load_champion

    model: Forecaster = load_champion(tracking_uri)
    return model
