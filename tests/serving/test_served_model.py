"""A served model's caches: a cached ``/forecast`` answer is given at once, even while the
same model forecasts another reader's view (which can take a tenth of a second)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd

from crossplan.pipelines.contract import Dataset
from crossplan.serving.served_model import ServedModel


class _Slow:
    """A forecaster that waits for ``release`` before answering, from ``table``'s forecast."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        self.started = threading.Event()
        self.release = threading.Event()

    def predict(self, dataset: Any, horizon: int, categories: Any = None) -> pd.DataFrame:
        self.started.set()
        assert self.release.wait(10)
        return self.table


def test_a_cached_answer_does_not_wait_for_another_forecast(
    stand_in_forecast: Any, tiny_dataset: Dataset
) -> None:
    slow = _Slow(stand_in_forecast(tiny_dataset, 1))
    model = ServedModel(slow, {"name": "m", "version": "1", "trained_at": None}, "mlflow")
    slow.release.set()
    body = model.answer(tiny_dataset, 1, None, None, view="first")  # cached now
    slow.release.clear()
    other = threading.Thread(target=model.table, args=(tiny_dataset, 1, "second"))
    other.start()
    assert slow.started.wait(10)
    began = time.perf_counter()
    assert model.cached_answer(1, None, None, view="first") == body
    waited = time.perf_counter() - began
    slow.release.set()
    other.join(10)
    assert waited < 0.5  # the other reader's forecast still holds the model's forecast lock
