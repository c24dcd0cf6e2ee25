"""Forecaster fit and predict times: default world (60 regions × 156 weeks) and 5,000 × 260.

Run with ``python -m benchmarks.bench_models`` (about ten minutes on 2 cores). Times are
medians of several runs (one run for the large world, whose LightGBM fit takes minutes, and
which leaves out the count-only LightGBM twin); the ratio column compares each model's fit
with the seasonal-naive baseline's fit on the same panel, measured in the same process.
Rows/s counts training rows (cell × origin × horizon) per second of fitting. The last table
times ``crossplan train`` end to end on the default world (backtest, fit, MLflow logging
into a temporary store).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from sklearn.base import clone

from benchmarks._table import median_seconds, print_table
from crossplan.models import PanelForecaster, PoissonGLM, RiskForecaster, SeasonalNaive
from crossplan.pipelines.contract import Dataset, load_dataset
from crossplan.pipelines.simulate import simulate_world
from crossplan.pipelines.train import train

# (label, regions, periods, horizon, repeats)
SIZES = (
    ("60×156 h4", 60, 156, 4, 3),
    ("5000×260 h1", 5000, 260, 1, 1),
)


def _models(horizon: int, *, naive: bool) -> dict[str, PanelForecaster]:
    models: dict[str, PanelForecaster] = {
        "seasonal naive": SeasonalNaive(horizon=horizon),
        "poisson glm": PoissonGLM(horizon=horizon),
        "lightgbm": RiskForecaster(horizon=horizon),
    }
    if naive:
        models["lightgbm counts"] = RiskForecaster(effort_aware=False, horizon=horizon)
    return models


def _rows(label: str, ds: Dataset, horizon: int, repeats: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    base = None
    for name, template in _models(horizon, naive=repeats > 1).items():

        def fit(template: PanelForecaster = template) -> PanelForecaster:
            return clone(template).fit(
                ds.incidents, ds.regions, ds.adjacency, frequency=ds.frequency
            )

        fit_s, model = median_seconds(fit, repeats)

        def predict(model: PanelForecaster = model) -> object:
            return model.predict(ds.incidents)

        predict_s, _ = median_seconds(predict, repeats)
        base = base or fit_s
        n = getattr(model, "n_train_rows_", len(ds.incidents))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((label, name, fit_s, fit_s / base, n / fit_s, predict_s, peak_mb))
    return rows


def _train_seconds(data_dir: Path) -> float:
    saved = {k: os.environ.get(k) for k in ("CROSSPLAN_HOME", "MLFLOW_TRACKING_URI")}
    with tempfile.TemporaryDirectory() as home:
        os.environ["CROSSPLAN_HOME"] = home
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        try:
            start = time.perf_counter()
            train(data_dir)
            return time.perf_counter() - start
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def main() -> None:
    rows: list[tuple[object, ...]] = []
    train_s = 0.0
    for label, regions, periods, horizon, repeats in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            simulate_world(seed=7, regions=regions, periods=periods).write(out)
            ds = load_dataset(out)
            rows += _rows(label, ds, horizon, repeats)
            if regions == 60:
                train_s = _train_seconds(out)
    print_table(
        "crossplan forecasters: fit and predict (median seconds)",
        ("world", "model", "fit s", "× snaive", "rows/s", "predict s", "RSS MB"),
        rows,
    )  # fmt: skip
    print_table(
        "crossplan train, default world: backtest, fit, MLflow (one run)",
        ("step", "seconds", "budget s"),
        [("crossplan train", train_s, 90.0)],
    )


if __name__ == "__main__":
    main()
