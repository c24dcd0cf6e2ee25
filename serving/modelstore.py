"""A local copy of the champion in BentoML's model store.

The service keeps the champion it last loaded from MLflow here, so that a restart can serve
it at once (while MLflow is asked whether it is still the champion), and so that it can still
start (degraded, and saying so) when the tracking server cannot be reached, and so that
``bentoml build`` can put the model inside the Bento (``bentofile.yaml`` lists
``crossplan-risk:latest``). The copy is the loaded model object, saved with joblib, and its
card (version, training window, metrics) as ``card.json`` next to it; its labels name the
version and the MLflow store it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import bentoml
import joblib
from bentoml.exceptions import NotFound

from crossplan.models.legacy import old_module_paths
from crossplan.pipelines.conventions import MODEL_NAME

__all__ = ["CARD_FILE", "COPY_FILE", "latest_copy_version", "load_copy", "save_copy"]

COPY_FILE = "model.joblib"
CARD_FILE = "card.json"


def _store_label(store: str) -> str:
    """The MLflow store's URI without user or password: labels end up in every Bento."""
    parts = urlsplit(store)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _newest(name: str, store: str | None) -> bentoml.Model | None:
    """The newest copy of ``name``; with ``store``, the newest kept from that MLflow store."""
    try:
        copies = bentoml.models.list(name)
    except NotFound:
        return None
    label = None if store is None else _store_label(store)
    copies = [c for c in copies if label is None or c.info.labels.get("store") == label]
    return max(copies, key=lambda c: c.info.creation_time, default=None)


def latest_copy_version(name: str = MODEL_NAME, *, store: str | None = None) -> str | None:
    """The champion version of the newest local copy (of ``store``), or ``None`` if none."""
    copy = _newest(name, store)
    return None if copy is None else copy.info.labels.get("version")


def save_copy(
    model: Any, card: dict[str, Any], name: str = MODEL_NAME, *, store: str | None = None
) -> str:
    """Store ``model`` as the newest local copy, unless the newest already is this version.

    Parameters
    ----------
    model
        The loaded champion (anything joblib can pickle).
    card
        JSON-serialisable description; must hold ``version``.
    store
        The MLflow tracking URI the champion came from (a label of the copy, without any
        user or password).

    Returns
    -------
    str
        The BentoML tag of the copy.
    """
    version = str(card["version"])
    newest = _newest(name, store)
    if newest is not None and newest.info.labels.get("version") == version:
        return str(newest.tag)
    labels = {"version": version}
    if store is not None:
        labels["store"] = _store_label(store)
    with bentoml.models.create(name, labels=labels) as copy:
        joblib.dump(model, copy.path_of(COPY_FILE))
        # The card holds nulls and nested values, which BentoML metadata does not take.
        Path(copy.path_of(CARD_FILE)).write_text(json.dumps(card), encoding="utf-8")
    return str(copy.tag)


def load_copy(
    name: str = MODEL_NAME, *, store: str | None = None
) -> tuple[Any, dict[str, Any]] | None:
    """The newest local copy (of ``store``) and its card, or ``None`` when there is none."""
    copy = _newest(name, store)
    if copy is None:
        return None
    card = json.loads(Path(copy.path_of(CARD_FILE)).read_text(encoding="utf-8"))
    with old_module_paths():  # a copy saved before the namespace
        return joblib.load(copy.path_of(COPY_FILE)), card
