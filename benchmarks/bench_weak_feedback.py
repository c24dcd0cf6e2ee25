"""Forecasts where patrols teach little: the champion on a weak-feedback world, against truth.

Run with ``python -m benchmarks.bench_weak_feedback`` (about 40 s on 2 cores). The world is
not the simulator's: :func:`models.synthetic.generate_panel` on a grid of 40 regions in
three countries, 156 weeks, patrols of a fifth of a shift per region and week, so that
kappa * effort is about 0.02 and the split of reported and detected counts cannot identify
the reporting rates and kappa on their own. Every candidate is backtested and the champion
chosen exactly as ``crossplan train`` does (:func:`pipelines.selection.compare`), then scored
against the true activity: mean Poisson deviance and top-10% capture. Two rows are added in
the same run: the effort-aware LightGBM with the correction applied as estimated
(``shrink_correction=False``: what the shrinkage prevents) and the naive twin it must not
lose to.
"""

from __future__ import annotations

import time

from benchmarks._table import print_table
from crossplan.models import RiskForecaster
from crossplan.models.synthetic import generate_panel
from crossplan.pipelines.backtest import backtest, default_models
from crossplan.pipelines.selection import compare

SHIFTS_PER_REGION, SEED = 0.2, 1
ORIGINS, HORIZON, REFIT_EVERY = 8, 4, 4


def main() -> None:
    world = generate_panel(40, 156, countries=3, shifts_per_region=SHIFTS_PER_REGION, seed=SEED)
    start = time.perf_counter()
    comparison = compare(
        world.panel, world.regions, world.adjacency, default_models(4),
        has_effort=True, truth=world.truth, origins=ORIGINS, horizon=HORIZON,
        refit_every=REFIT_EVERY,
    )  # fmt: skip
    raw = backtest(
        world.panel, world.regions, world.adjacency,
        {"lightgbm, correction as estimated": RiskForecaster(horizon=4, shrink_correction=False)},
        truth=world.truth, origins=ORIGINS, horizon=HORIZON, refit_every=REFIT_EVERY,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    metrics = {**comparison.result.metrics(), **raw.metrics()}
    champion = comparison.selection.candidate
    naive = metrics["lightgbm_naive"]["truth"]
    rows = []
    for name, m in sorted(metrics.items(), key=lambda kv: kv[1]["truth"]["poisson_deviance"]):
        truth, observed = m["truth"], m["observed"]
        rows.append((
            f"{name} (champion)" if name == champion else name,
            truth["poisson_deviance"], truth["poisson_deviance"] / naive["poisson_deviance"],
            truth["capture10"], truth["capture10"] - naive["capture10"],
            observed["poisson_deviance"], observed["coverage80"],
        ))  # fmt: skip
    print_table(
        f"Weak-feedback world ({SHIFTS_PER_REGION} shifts per region-week, seed {SEED}): "
        "against the true activity, and the observed backtest the choice saw",
        ("model", "deviance", "vs naive twin", "capture10", "vs naive twin", "observed dev",
         "cov80"),
        rows,
    )  # fmt: skip
    print(f"selection: {comparison.selection.reason}")
    print(f"backtests: {seconds:.0f} s")


if __name__ == "__main__":
    main()
