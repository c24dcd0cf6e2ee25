"""The champion's local copy in BentoML's model store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bentoml
import pytest

from crossplan.serving import modelstore
from crossplan.serving.served_model import ForecastFile


@pytest.fixture
def empty_store() -> Iterator[None]:
    """No copy of the test model name before or after the test."""
    name = "crossplan-risk-test"

    def clear() -> None:
        for copy in bentoml.models.list():
            if copy.tag.name == name:
                bentoml.models.delete(copy.tag)

    clear()
    yield
    clear()


def test_no_copy_loads_as_none(empty_store: None) -> None:
    assert modelstore.load_copy("crossplan-risk-test") is None
    assert modelstore.latest_copy_version("crossplan-risk-test") is None


def test_a_copy_round_trips_and_a_version_is_copied_once(
    empty_store: None, forecast_file: Path, write_forecast: object, tmp_path: Path
) -> None:
    name = "crossplan-risk-test"
    model = ForecastFile(forecast_file)
    card = {"name": "crossplan-risk", "version": "7", "metrics": {"mae": 1.5}}
    tag = modelstore.save_copy(model, card, name)
    assert modelstore.save_copy(model, card, name) == tag  # same version: no second copy
    loaded = modelstore.load_copy(name)
    assert loaded is not None
    copy, stored_card = loaded
    assert stored_card == card
    assert copy.table.equals(model.table)
    modelstore.save_copy(model, {**card, "version": "8"}, name)
    assert modelstore.latest_copy_version(name) == "8"
    modelstore.save_copy(model, card, name)  # rolled back to 7: the newest copy is 7 again
    assert modelstore.latest_copy_version(name) == "7"


def test_copies_are_kept_per_mlflow_store(
    empty_store: None, forecast_file: Path, write_forecast: object
) -> None:
    name = "crossplan-risk-test"
    model = ForecastFile(forecast_file)
    card = {"name": "crossplan-risk", "version": "3"}
    here, there = "sqlite:////srv/a/mlflow.db", "http://mlflow.example:5000"
    modelstore.save_copy(model, card, name, store=here)
    modelstore.save_copy(model, {**card, "version": "9"}, name, store=there)
    assert modelstore.latest_copy_version(name) == "9"  # the newest of any store
    assert modelstore.latest_copy_version(name, store=here) == "3"
    loaded = modelstore.load_copy(name, store=here)
    assert loaded is not None and loaded[1]["version"] == "3"
    assert modelstore.load_copy(name, store="sqlite:////srv/b/mlflow.db") is None
    tag = modelstore.save_copy(model, card, name, store=here)  # already this store's newest
    assert tag == modelstore.save_copy(model, card, name, store=here)
    assert len(bentoml.models.list(name)) == 2
    # A store's user and password are never written into a copy's labels (nor into a Bento).
    modelstore.save_copy(model, card, name, store="https://ci:s3cret@mlflow.example/")
    labels = [c.info.labels for c in bentoml.models.list(name)]
    assert all("s3cret" not in str(label) for label in labels)
    assert modelstore.latest_copy_version(name, store="https://ci:s3cret@mlflow.example/") == "3"
