"""Where the planning service keeps its state, read from the environment.

Everything lives under ``$CROSSPLAN_HOME`` (default ``./.crossplan``) unless a variable below
points elsewhere:

==========================  ==========================================================
``CROSSPLAN_HOME``          root of the local state (MLflow store, world, database)
``CROSSPLAN_DATABASE_URL``  the shared database: panel versions, plans, keys, alerts
                            (default: SQLite in ``$HOME/crossplan.db``)
``CROSSPLAN_DATA``          data directory imported when the database holds no panel yet
                            (``$HOME/world``)
``CROSSPLAN_FORECAST_FILE`` serve this forecast table instead of the MLflow champion
``CROSSPLAN_SUPPRESS_BELOW`` counts from 1 up to this, exclusive, are hidden from other
                            agencies (default 3)
``CROSSPLAN_MIN_TOTAL``     a country total is published only over at least this many
                            regions and this many non-zero cells (default 3)
``CROSSPLAN_WEBHOOK_ALLOW`` hosts (comma-separated) a webhook may name with plain http or a
                            private address; by default webhooks are https to public hosts
``MLFLOW_TRACKING_URI``     tracking server of the champion (default: the local store)
==========================  ==========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import ConfigurationError
from pipelines.home import crossplan_home, database_url

__all__ = ["Settings"]


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Paths and switches of one service instance.

    Attributes
    ----------
    home
        ``$CROSSPLAN_HOME``.
    data_dir
        The data directory imported into the database when it holds no panel yet.
    database_url
        The shared database (SQLAlchemy URL).
    forecast_file
        A forecast table (CSV or Parquet) served instead of the champion, or ``None``.
    tracking_uri
        MLflow tracking URI, or ``None`` for the default local store.
    """

    home: Path
    data_dir: Path
    database_url: str
    forecast_file: Path | None
    tracking_uri: str | None
    suppress_below: int = 3
    min_total: int = 3
    webhook_allow: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> Settings:
        home = crossplan_home()
        forecast = os.environ.get("CROSSPLAN_FORECAST_FILE")
        return cls(
            home=home,
            data_dir=_path("CROSSPLAN_DATA", home / "world"),
            database_url=database_url(),
            forecast_file=Path(forecast).resolve() if forecast else None,
            tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
            suppress_below=_threshold("CROSSPLAN_SUPPRESS_BELOW", "a whole number of incidents"),
            min_total=_threshold("CROSSPLAN_MIN_TOTAL", "a whole number of regions and cells"),
            webhook_allow=_hosts(os.environ.get("CROSSPLAN_WEBHOOK_ALLOW", "")),
        )


def _threshold(variable: str, what: str) -> int:
    value = os.environ.get(variable, "3").strip()
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(f"{variable}={value!r} — fix: {what} of at least 1, e.g. 3")
    return int(value)


def _hosts(value: str) -> tuple[str, ...]:
    """Lower-case host names (or addresses) of a comma-separated list."""
    return tuple(sorted({h.strip().lower() for h in value.split(",") if h.strip()}))
