"""The allocation optimizer: build and solve times, gap and plan value, CBC beside HiGHS.

Run with ``python -m benchmarks.bench_optimize [--quick]``; ``--scale`` gives instead the
table of 500 to 50,000 regions (:mod:`benchmarks.optimize_scale`). Instances:

* the default world (``simulate_world(seed=7)``: 60 regions, 6 countries, its units,
  agreements and joint operations), planning 1 period (one call of the closed-loop
  evaluation) and 4 periods, on the world's true activity rates and detection rates;
* a seeded synthetic instance of 2,000 regions × 300 units × 4 periods
  (:func:`optimize.synthetic.random_inputs`), solved once (``--quick`` leaves it out)
  with a 60 s limit and a 1% gap.

Solve time includes the greedy warm start. The value columns compare the plan's exact
expected interdictions with the *uniform* and *proportional* policies on the same forecast,
scored in the same run. Targets: default world under 2 s; the large instance within 1% gap
in 60 s. The value columns:
``value`` is the plan's exact expected interdictions, ``×unif`` and ``×prop`` its ratio to
the two simple policies, ``curve err`` the proved error of the piecewise curve.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks import optimize_scale
from benchmarks._table import print_table
from crossplan.optimize import Inputs, Plan, build_problem
from crossplan.optimize.solve import solve
from crossplan.optimize.synthetic import random_inputs
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.simulate import simulate_world

SOLVERS = ("cbc", "highs")
COLUMNS = (
    "instance", "solver", "build s", "solve s", "status", "gap", "value", "×unif", "×prop",
    "curve err",
)  # fmt: skip


def default_world_inputs(periods: int) -> Inputs:
    """The default world's resources, planning ``periods`` weeks on its true activity."""
    world = simulate_world(seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        world.write(Path(tmp))
        dataset = load_dataset(Path(tmp))
    truth = world.truth()
    last = truth["period"].max()
    # The last ``periods`` weeks of true activity stand for the next ``periods`` weeks.
    recent = truth[truth["period"] > last - pd.Timedelta(weeks=periods)]
    rate = recent["activity_rate"]
    forecast = pd.DataFrame(
        {
            "region_id": recent["region_id"],
            "category": recent["category"],
            "period": recent["period"] + pd.Timedelta(weeks=periods),
            "activity_mean": rate,
            "activity_q10": 0.6 * rate,
            "activity_q50": rate,
            "activity_q90": 1.6 * rate,
            "detection_rate": recent["category"].map(world.kappa),
        }
    )
    assert dataset.resources is not None
    return Inputs.from_resources(
        dataset.resources, dataset.regions, forecast, dataset.recent_counts(4)
    )


def measure(
    inputs: Inputs, solver: str, repeats: int, time_limit: float | None, gap: float | None
) -> tuple[float, float, Plan]:
    """Median build and solve seconds over ``repeats`` runs, and the last plan."""
    builds, solves = [], []
    plan = None
    for _ in range(repeats):
        start = time.perf_counter()
        problem = build_problem(inputs)
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        plan = solve(problem, solver, time_limit=time_limit, gap=gap)
        solves.append(time.perf_counter() - start)
    assert plan is not None
    return statistics.median(builds), statistics.median(solves), plan


def _ratio(value: float | None, base: float | None) -> str:
    return "n/a" if value is None or not base else f"{value / base:.3f}"


def rows_for(
    label: str,
    inputs: Inputs,
    repeats: int,
    time_limit: float | None = None,
    gap: float | None = None,
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for solver in SOLVERS:
        build_s, solve_s, plan = measure(inputs, solver, repeats, time_limit, gap)
        rows.append(
            (
                label,
                solver,
                build_s,
                solve_s,
                plan.status.value,
                "unknown" if plan.gap is None else f"{plan.gap:.2%}",
                f"{plan.objective:.1f}",
                _ratio(plan.objective, plan.baselines.get("uniform")),
                _ratio(plan.objective, plan.baselines.get("proportional")),
                f"{plan.approximation_error:.2%}",
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_optimize")
    parser.add_argument("--quick", action="store_true", help="leave out the large instance")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="instead: the table of 500 to 50,000 regions (benchmarks/optimize_scale.py)",
    )
    parser.add_argument(
        "--sizes", help="with --scale: only these region counts, comma-separated (e.g. 500,2000)"
    )
    parser.add_argument("--solvers", default="cbc,highs", help="with --scale: which solvers")
    parser.add_argument(
        "--workers", type=int, help="with --scale: blocks solved at once (default one per core)"
    )
    parser.add_argument(
        "--load", choices=("both", "quiet", "busy"), default="both", help="with --scale"
    )
    args = parser.parse_args(argv if argv is not None else [])
    if args.scale:
        sizes = None if not args.sizes else [int(s) for s in args.sizes.split(",")]
        loads = {"both": (False, True), "quiet": (False,), "busy": (True,)}[args.load]
        optimize_scale.main(sizes, tuple(args.solvers.split(",")), args.workers, loads)
        return
    rows = []
    rows += rows_for("world 1 period", default_world_inputs(1), repeats=5)
    rows += rows_for("world 4 periods", default_world_inputs(4), repeats=5)
    if not args.quick:
        large = random_inputs(2000, 300, 4, n_countries=6, seed=0)
        rows += rows_for("2000r×300u×4p", large, 1, time_limit=60, gap=0.01)
    print_table(
        "crossplan optimize: median seconds; value = exact expected interdictions, "
        "× the uniform and proportional policies",
        COLUMNS,
        rows,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
