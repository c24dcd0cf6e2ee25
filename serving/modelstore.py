"""A local copy of the champion in BentoML's model store.

The service keeps the champion it last loaded from MLflow here, so that it can still start
(degraded, and saying so) when the tracking server cannot be reached, and so that
``bentoml build`` can put the model inside the Bento (``bentofile.yaml`` lists
``crossplan-risk:latest``). The copy is the loaded model object, saved with joblib, and its
card (version, training window, metrics) as ``card.json`` next to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bentoml
import joblib
from bentoml.exceptions import NotFound

from pipelines.conventions import MODEL_NAME

__all__ = ["CARD_FILE", "COPY_FILE", "latest_copy_version", "load_copy", "save_copy"]

COPY_FILE = "model.joblib"
CARD_FILE = "card.json"


def latest_copy_version(name: str = MODEL_NAME) -> str | None:
    """The champion version of the newest local copy, or ``None`` when there is none."""
    try:
        copy = bentoml.models.get(f"{name}:latest")
    except NotFound:
        return None
    return copy.info.labels.get("version")


def save_copy(model: Any, card: dict[str, Any], name: str = MODEL_NAME) -> str:
    """Store ``model`` as the newest local copy, unless the newest already is this version.

    Parameters
    ----------
    model
        The loaded champion (anything joblib can pickle).
    card
        JSON-serialisable description; must hold ``version``.

    Returns
    -------
    str
        The BentoML tag of the copy.
    """
    version = str(card["version"])
    if latest_copy_version(name) == version:
        return str(bentoml.models.get(f"{name}:latest").tag)
    with bentoml.models.create(name, labels={"version": version}) as copy:
        joblib.dump(model, copy.path_of(COPY_FILE))
        # The card holds nulls and nested values, which BentoML metadata does not take.
        Path(copy.path_of(CARD_FILE)).write_text(json.dumps(card), encoding="utf-8")
    return str(copy.tag)


def load_copy(name: str = MODEL_NAME) -> tuple[Any, dict[str, Any]] | None:
    """The newest local copy and its card, or ``None`` when there is none."""
    try:
        copy = bentoml.models.get(f"{name}:latest")
    except NotFound:
        return None
    card = json.loads(Path(copy.path_of(CARD_FILE)).read_text(encoding="utf-8"))
    return joblib.load(copy.path_of(COPY_FILE)), card
