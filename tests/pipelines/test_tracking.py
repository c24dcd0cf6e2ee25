"""Tracking store: where it is, failing fast when unreachable, runs that never stay RUNNING."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossplan.pipelines import tracking
from crossplan.pipelines.conventions import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG
from crossplan.pipelines.errors import ConfigurationError
from tests.ports import free_port


def test_default_store_is_under_crossplan_home(crossplan_home: Path) -> None:
    assert tracking.resolve_tracking_uri() == f"sqlite:///{crossplan_home / 'mlflow.db'}"


def test_environment_overrides(crossplan_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert tracking.resolve_tracking_uri() == "http://127.0.0.1:1"
    assert tracking.resolve_tracking_uri("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("uri", "run_id", "url"),
    [
        # a local store: where `mlflow ui` serves it
        ("sqlite:///x/mlflow.db", "abc", "http://127.0.0.1:5000/#/experiments/3/runs/abc"),
        # a tracking server: its own address; the experiment's runs without a run
        ("http://mlflow.example:8080/", None, "http://mlflow.example:8080/#/experiments/3/runs"),
    ],
)
def test_links_open_the_model_training_pages(uri: str, run_id: str | None, url: str) -> None:
    # The MLflow 3 UI reads the workflow type from the address before the experiment's tag.
    assert tracking.ui_url(uri, "3", run_id) == f"{url}?workflowType=machine_learning"


def test_unreachable_server_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot reach"):
        tracking.connect(f"http://127.0.0.1:{free_port()}")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RuntimeError, "FAILED"),  # a failure after the run started
        (KeyboardInterrupt, "KILLED"),  # Ctrl-C
    ],
)
def test_a_run_that_fails_is_not_left_running(
    crossplan_home: Path, error: type[BaseException], status: str
) -> None:
    client = tracking.connect()
    with pytest.raises(error), tracking.tracked_run(client, "doomed") as run:
        raise error()
    assert client.get_run(run.info.run_id).info.status == status
    artifacts = client.get_experiment(run.info.experiment_id).artifact_location
    assert artifacts.startswith((crossplan_home / "mlartifacts").as_uri())
    # The MLflow UI opens the experiment on its runs; one made before that was said is
    # tagged the next time it is used.
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    client.delete_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG)
    assert tracking.ensure_experiment(client) == experiment.experiment_id
    tags = client.get_experiment(experiment.experiment_id).tags
    assert tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
