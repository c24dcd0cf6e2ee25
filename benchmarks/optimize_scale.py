"""How the optimizer scales: ``python -m benchmarks.bench_optimize --scale``.

Seeded synthetic instances (:func:`optimize.synthetic.random_inputs`: 0.15 units per region,
4 periods, 6 countries, seed 0) of 500 to 50,000 regions, planned by
:func:`optimize.plan_allocation` with a 1% gap and a time limit that counts everything the
call does (the build included): 60 s up to 10,000 regions, 300 s for 50,000. Each run is a
fresh process, so its peak memory (its own and its solver's) is its own; each is run quiet
and beside a CPU-bound process (``python -c 'while True: pass'``), with CBC and HiGHS. The
table gives the median wall time over the runs (their count in ``runs``), the build seconds,
the gap and its upper bound on the exact objective, the plan's value and peak memory, and
whether every run answered within its limit + 5 s.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks._table import print_table

__all__ = ["SIZES", "main", "run_one"]

# (regions, time limit in s, runs)
SIZES: tuple[tuple[int, float, int], ...] = (
    (500, 60.0, 3),
    (2_000, 60.0, 3),
    (5_000, 60.0, 1),
    (10_000, 60.0, 1),
    (50_000, 300.0, 1),
)
GAP = 0.01
COLUMNS = (
    "regions", "units", "solver", "load", "runs", "wall s", "limit s", "build s", "status",
    "gap", "bound", "value", "peak MiB", "≤ limit+5",
)  # fmt: skip


def run_one(regions: int, solver: str, limit: float, workers: int | None = None) -> dict[str, Any]:
    """Plan one instance in this process (``workers``: blocks solved at once, default one
    per core); what the table shows of it."""
    from crossplan.optimize import plan_allocation
    from crossplan.optimize.synthetic import random_inputs

    inputs = random_inputs(regions, round(0.15 * regions), 4, n_countries=6, seed=0)
    began = time.monotonic()
    plan = plan_allocation(inputs, solver, time_limit=limit, gap=GAP, workers=workers)
    wall = time.monotonic() - began
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return {
        "units": len(inputs.units),
        "wall": wall,
        "build": plan.build_seconds,
        "status": plan.status.value,
        "gap": plan.gap,
        "bound": plan.upper_bound,
        "value": plan.objective,
        "peak_mib": peak / 1024,
    }


def _measure(
    regions: int, solver: str, limit: float, loaded: bool, workers: int | None
) -> dict[str, Any]:
    """:func:`run_one` in a fresh process, beside a busy one when ``loaded``."""
    busy = None
    if loaded:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.optimize_scale",
                str(regions),
                solver,
                str(limit),
                str(workers or 0),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(
    sizes: Sequence[int] | None = None,
    solvers: Sequence[str] = ("cbc", "highs"),
    workers: int | None = None,
    loads: Sequence[bool] = (False, True),
) -> None:
    rows = []
    for regions, limit, runs in SIZES:
        if sizes is not None and regions not in sizes:
            continue
        for solver in solvers:
            for loaded in loads:
                results = [_measure(regions, solver, limit, loaded, workers) for _ in range(runs)]
                last = results[-1]
                rows.append(
                    (
                        regions,
                        last["units"],
                        solver,
                        "busy CPU" if loaded else "quiet",
                        runs,
                        statistics.median(r["wall"] for r in results),
                        limit,
                        statistics.median(r["build"] for r in results),
                        last["status"],
                        "unknown" if last["gap"] is None else f"{last['gap']:.2%}",
                        "n/a" if last["bound"] is None else f"{last['bound']:.1f}",
                        f"{last['value']:.1f}",
                        f"{max(r['peak_mib'] for r in results):.0f}",
                        "yes" if all(r["wall"] <= limit + 5 for r in results) else "NO",
                    )
                )
                print(dict(zip(COLUMNS, rows[-1], strict=True)), file=sys.stderr, flush=True)
    print_table(
        "crossplan optimize at scale (0.15 units/region, 4 periods, 6 countries, seed 0, gap "
        f"{GAP:.0%}): median wall s of 'runs' fresh processes; gap, bound (on the exact "
        "objective) and value of the last run; peak memory the most of the runs",
        COLUMNS,
        rows,
    )


if __name__ == "__main__":
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    print(json.dumps(run_one(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), workers or None)))
