"""Where the planning service keeps its state, read from the environment.

Everything lives under ``$CROSSPLAN_HOME`` (default ``./.crossplan``) unless a variable below
points elsewhere:

==========================  ==========================================================
``CROSSPLAN_HOME``          root of the local state (MLflow store, world, plans, keys)
``CROSSPLAN_DATA``          data directory the service forecasts from (``$HOME/world``)
``CROSSPLAN_API_KEYS_FILE`` API keys file (``$HOME/api_keys.json``)
``CROSSPLAN_PLANS_DB``      plan store (``$HOME/plans.db``)
``CROSSPLAN_FORECAST_FILE`` serve this forecast table instead of the MLflow champion
``MLFLOW_TRACKING_URI``     tracking server of the champion (default: the local store)
==========================  ==========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.home import crossplan_home

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
        The data directory whose panel the service forecasts from.
    keys_file
        The API keys file.
    plans_db
        The SQLite plan store.
    forecast_file
        A forecast table (CSV or Parquet) served instead of the champion, or ``None``.
    tracking_uri
        MLflow tracking URI, or ``None`` for the default local store.
    """

    home: Path
    data_dir: Path
    keys_file: Path
    plans_db: Path
    forecast_file: Path | None
    tracking_uri: str | None

    @classmethod
    def from_env(cls) -> Settings:
        home = crossplan_home()
        forecast = os.environ.get("CROSSPLAN_FORECAST_FILE")
        return cls(
            home=home,
            data_dir=_path("CROSSPLAN_DATA", home / "world"),
            keys_file=_path("CROSSPLAN_API_KEYS_FILE", home / "api_keys.json"),
            plans_db=_path("CROSSPLAN_PLANS_DB", home / "plans.db"),
            forecast_file=Path(forecast).resolve() if forecast else None,
            tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
        )
