"""Where MLflow lives, and runs that never stay RUNNING.

The tracking store is ``sqlite:///$CROSSPLAN_HOME/mlflow.db`` with artifacts under
``$CROSSPLAN_HOME/mlartifacts`` (``CROSSPLAN_HOME`` defaults to ``./.crossplan``), unless
``MLFLOW_TRACKING_URI`` points elsewhere, e.g. at a real ``mlflow server``. The store is
checked before any work starts, so an unreachable one fails fast with a clear error.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import mlflow
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from crossplan.pipelines.conventions import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.home import (
    check_home,
    crossplan_home,
    default_tracking_uri,
    resolve_tracking_uri,
)

__all__ = [
    "EXPERIMENT",
    "connect",
    "default_tracking_uri",
    "ensure_experiment",
    "resolve_tracking_uri",
    "tracked_run",
    "ui_url",
]

EXPERIMENT = "crossplan"
#: Where ``mlflow ui`` serves a local store by default.
LOCAL_UI = "http://127.0.0.1:5000"
#: The MLflow 3 UI chooses an experiment's pages by the workflow type in the address, or else
#: the one last picked in the browser (GenAI at first), not by the experiment's kind tag: a
#: link to a run names the model-training pages.
_UI_QUERY = "workflowType=machine_learning"
_PROBE_SECONDS = 5.0


def _check(uri: str) -> None:
    parsed = urlparse(uri)
    fix = "start the tracking server, or unset MLFLOW_TRACKING_URI to use the local store"
    if parsed.scheme in ("http", "https"):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=_PROBE_SECONDS) as response:
                if response.status != 200:
                    raise ConfigurationError(
                        f"MLflow tracking server {uri} answered {response.status} — fix: {fix}"
                    )
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise ConfigurationError(
                f"cannot reach the MLflow tracking server {uri} ({reason}) — fix: {fix}"
            ) from err
    elif parsed.scheme in ("sqlite", "file", ""):
        path = Path(parsed.path if parsed.scheme else uri)
        target = path.parent if parsed.scheme == "sqlite" else path
        if not path.exists():
            check_home(path)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigurationError(
                f"cannot create the MLflow store at {uri} ({err}) — fix: set CROSSPLAN_HOME "
                "or MLFLOW_TRACKING_URI to a writable place"
            ) from err


def connect(uri: str | None = None) -> MlflowClient:
    """Point MLflow at the resolved store after checking it can be reached.

    Raises
    ------
    ConfigurationError
        When the tracking server cannot be reached or the local store cannot be created.
    """
    resolved = resolve_tracking_uri(uri)
    _check(resolved)
    mlflow.set_tracking_uri(resolved)
    mlflow.set_registry_uri(resolved)
    try:
        client = MlflowClient(resolved, resolved)
        client.search_experiments(max_results=1)
    except Exception as err:  # any failure of the store is a configuration problem here
        raise ConfigurationError(
            f"the MLflow store {resolved} does not work ({type(err).__name__}: {err}) — "
            "fix: check MLFLOW_TRACKING_URI or CROSSPLAN_HOME"
        ) from err
    return client


def ensure_experiment(client: MlflowClient, name: str = EXPERIMENT) -> str:
    """The experiment's id, creating it (artifacts under ``$CROSSPLAN_HOME``) if needed.

    It is tagged a model-training experiment (:data:`~pipelines.conventions.EXPERIMENT_KIND`),
    an existing one too, so that the MLflow UI opens it on its runs.
    """
    kind = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return str(found.experiment_id)
    location = None
    if urlparse(client.tracking_uri).scheme in ("sqlite", "file", ""):
        location = (crossplan_home() / "mlartifacts").as_uri()
    return str(client.create_experiment(name, artifact_location=location, tags=kind))


def ui_url(tracking_uri: str, experiment_id: str, run_id: str | None = None) -> str:
    """The address of a run (or of the experiment's runs) in the MLflow UI, on its
    model-training pages: the server's own for a tracking server, ``mlflow ui``'s
    (:data:`LOCAL_UI`) for a local store."""
    remote = urlparse(tracking_uri).scheme in ("http", "https")
    base = tracking_uri.rstrip("/") if remote else LOCAL_UI
    page = f"runs/{run_id}" if run_id else "runs"
    return f"{base}/#/experiments/{experiment_id}/{page}?{_UI_QUERY}"


@contextmanager
def tracked_run(
    client: MlflowClient, run_name: str, tags: dict[str, str] | None = None
) -> Iterator[Run]:
    """An active MLflow run that ends FINISHED, or FAILED (KILLED on Ctrl-C) if the body raises."""
    experiment_id = ensure_experiment(client)
    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags)
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        mlflow.end_run(status=status)
