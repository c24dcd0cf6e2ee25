"""Forecasts where patrols follow counts: the champion on a sparse world, against truth.

Run with ``python -m benchmarks.bench_sparse_feedback`` (about 1 min on 2 cores). The world
is :func:`pipelines.sparse_world.sparse_world` at its defaults: 70 regions in four
countries, 156 weeks, about 0.3 observed incidents per cell and week, and each country's
patrols spread over its regions in proportion to the counts observed there in the last two
weeks. Effort that follows counts identifies little of the effort correction between cells
(where patrols went is where the counts already were), so the correction must not rank the
cells worse than ignoring effort does. Every candidate is backtested on 26 origins and the
champion chosen exactly as ``crossplan train`` does (:func:`pipelines.selection.compare`),
then scored against the true activity: top-10% capture and mean Poisson deviance, and
against the observed counts: count-aware 80% coverage (``pit_coverage80``). The naive twin
(``lightgbm_naive``) is the row to beat; the detection model's feedback diagnostic per
country (:meth:`models.detection.DetectionModel.correction`) is printed from a fit on the
whole panel.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks._table import print_table
from crossplan.models import RiskForecaster
from crossplan.pipelines.backtest import default_models
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.selection import compare
from crossplan.pipelines.sparse_world import sparse_world

ORIGINS, HORIZON, REFIT_EVERY = 26, 4, 4
SHOWN = ("lightgbm", "lightgbm_naive", "poisson_glm")


def main() -> None:
    world = sparse_world()
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(world.write(Path(tmp)))
    start = time.perf_counter()
    comparison = compare(
        ds.incidents, ds.regions, ds.adjacency, default_models(HORIZON), has_effort=True,
        truth=world.truth, origins=ORIGINS, horizon=HORIZON, refit_every=REFIT_EVERY,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    metrics = comparison.result.metrics()
    champion = comparison.selection.candidate
    naive = metrics["lightgbm_naive"]["truth"]
    rows = []
    for name in dict.fromkeys([*SHOWN, champion]):
        truth, observed = metrics[name]["truth"], metrics[name]["observed"]
        rows.append((
            f"{name} (champion)" if name == champion else name,
            truth["capture10"], truth["capture10"] - naive["capture10"],
            truth["poisson_deviance"], truth["poisson_deviance"] / naive["poisson_deviance"],
            observed["pit_coverage80"],
        ))  # fmt: skip
    print_table(
        f"Sparse world, patrols following the last two weeks' counts ({ORIGINS} origins, "
        f"horizon {HORIZON}): against the true activity, and count-aware coverage",
        ("model", "capture10", "vs naive twin", "deviance", "vs naive twin", "pit_cov80"),
        rows,
    )  # fmt: skip
    print(f"selection: {comparison.selection.reason}")
    final = RiskForecaster(horizon=HORIZON).fit(ds.incidents, ds.regions, ds.adjacency)
    correction = final.detection_.correction()
    print(f"correction: {correction}")
    print(f"backtests: {seconds:.0f} s")


if __name__ == "__main__":
    main()
