"""Where crossplan keeps its local state: ``$CROSSPLAN_HOME``, by default ``./.crossplan``.

The MLflow store, the shared database (panel versions, keys, plans) and the service's model
copies live under it unless their own settings point elsewhere. Where they are is read here,
without importing MLflow or SQLAlchemy.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DATABASE_VARIABLE",
    "crossplan_home",
    "database_url",
    "default_tracking_uri",
    "resolve_tracking_uri",
]

DATABASE_VARIABLE = "CROSSPLAN_DATABASE_URL"


def crossplan_home() -> Path:
    """``$CROSSPLAN_HOME``, by default ``./.crossplan`` (resolved against the working directory)."""
    return Path(os.environ.get("CROSSPLAN_HOME") or ".crossplan").resolve()


def default_tracking_uri() -> str:
    """``sqlite:///$CROSSPLAN_HOME/mlflow.db``."""
    return f"sqlite:///{crossplan_home() / 'mlflow.db'}"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """``uri`` if given, else ``MLFLOW_TRACKING_URI``, else :func:`default_tracking_uri`."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def database_url() -> str:
    """``CROSSPLAN_DATABASE_URL``, by default SQLite in ``$CROSSPLAN_HOME/crossplan.db``."""
    url = os.environ.get(DATABASE_VARIABLE)
    if url:
        # A bare postgresql:// URL means the driver crossplan ships with (psycopg 3).
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{crossplan_home() / 'crossplan.db'}"
