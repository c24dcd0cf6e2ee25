"""Where crossplan keeps its local state: ``$CROSSPLAN_HOME``, by default ``./.crossplan``.

The MLflow store, the shared database (panel versions, keys, plans) and the service's model
copies live under it unless their own settings point elsewhere. Where they are is read here,
without importing MLflow or SQLAlchemy.

A home is made on purpose, never by accident: run from another folder, a command would
otherwise start an empty ``.crossplan`` there and answer from it as if nothing had happened.
So nothing creates state under a home that does not exist (:func:`check_home`); ``crossplan
import`` and any command given ``--init`` make one first (:func:`init_home`), and the
commands say on their first line which home they use (:func:`describe_home`).
"""

from __future__ import annotations

import os
from pathlib import Path

from crossplan.pipelines.errors import ConfigurationError

__all__ = [
    "DATABASE_VARIABLE",
    "HOME_VARIABLE",
    "check_home",
    "crossplan_home",
    "database_in_home",
    "database_url",
    "default_tracking_uri",
    "describe_home",
    "init_home",
    "resolve_tracking_uri",
]

DATABASE_VARIABLE = "CROSSPLAN_DATABASE_URL"
HOME_VARIABLE = "CROSSPLAN_HOME"


def crossplan_home() -> Path:
    """``$CROSSPLAN_HOME``, by default ``./.crossplan`` (resolved against the working directory)."""
    return Path(os.environ.get(HOME_VARIABLE) or ".crossplan").resolve()


def describe_home() -> str:
    """The home and where it comes from, for people to read."""
    if os.environ.get(HOME_VARIABLE):
        return f"{crossplan_home()} ({HOME_VARIABLE})"
    return f"{crossplan_home()} ({HOME_VARIABLE} is not set: .crossplan of the working directory)"


def check_home(path: Path) -> None:
    """Refuse to create ``path`` under a home that does not exist.

    ``path`` is something crossplan is about to create (the database file, the MLflow store);
    outside the home it is not this function's business.

    Raises
    ------
    ConfigurationError
        ``path`` lies under :func:`crossplan_home`, which does not exist.
    """
    home = crossplan_home()
    # A URL's path may begin with two slashes (sqlite:////abs), which POSIX keeps apart.
    where = Path("/" + str(path.resolve()).lstrip("/"))
    if home.is_dir() or not where.is_relative_to(home):
        return
    raise ConfigurationError(
        f"no crossplan home at {describe_home()}, and nothing is created there unasked — fix: "
        f"run from the folder that holds your .crossplan, or set {HOME_VARIABLE}=DIR to your "
        "home, or pass --init to start a new, empty home there (crossplan import starts one "
        "too)"
    )


def init_home() -> Path:
    """Create the home (and its parents) if it does not exist yet; the home."""
    home = crossplan_home()
    home.mkdir(parents=True, exist_ok=True)
    return home


def default_tracking_uri() -> str:
    """``sqlite:///$CROSSPLAN_HOME/mlflow.db``."""
    return f"sqlite:///{crossplan_home() / 'mlflow.db'}"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """``uri`` if given, else ``MLFLOW_TRACKING_URI``, else :func:`default_tracking_uri`."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def database_in_home() -> bool:
    """Whether the shared database is the home's SQLite file (no ``CROSSPLAN_DATABASE_URL``)."""
    return not os.environ.get(DATABASE_VARIABLE)


def database_url() -> str:
    """``CROSSPLAN_DATABASE_URL``, by default SQLite in ``$CROSSPLAN_HOME/crossplan.db``."""
    url = os.environ.get(DATABASE_VARIABLE)
    if url:
        # A bare postgresql:// URL means the driver crossplan ships with (psycopg 3).
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{crossplan_home() / 'crossplan.db'}"
