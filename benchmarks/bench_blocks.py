"""Blocks solved at once against one after another: ``python -m benchmarks.bench_blocks``.

Two seeded instances of 1,500 regions, 225 units, 4 periods and 6 countries
(:func:`optimize.synthetic.random_inputs`, seed 0), planned to a 1% gap without a time
limit, with CBC and HiGHS:

* *components*: no agreement and no joint operation (``border_km=0``), so each country is a
  block that shares nothing, and all six make one wave;
* *fix-and-optimize*: agreements and operations, split by country (``split_above=0``), six
  blocks along a chain of borders in two waves of three.

Each is planned with ``workers=1`` (one block solved at a time; its build still overlaps the
solve before it) and with the default (:func:`optimize.decompose.block_workers`, one per
core). The table gives the median wall time of ``--repeats`` runs, the ratio of the default
to one at a time measured in the same run, and whether the two plans are the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

from benchmarks._table import print_table
from crossplan.optimize import Inputs, Plan, plan_allocation
from crossplan.optimize.blocks import find_blocks, waves
from crossplan.optimize.decompose import block_workers
from crossplan.optimize.synthetic import random_inputs

COLUMNS = (
    "instance", "solver", "blocks", "waves", "at once", "1 at a time s", "at once s", "ratio",
    "value", "same plan",
)  # fmt: skip
GAP = 0.01
# (label, border_km, split_above)
INSTANCES = (("components", 0.0, 10**9), ("fix-and-optimize", 45.0, 0))


def _plan(inputs: Inputs, solver: str, split_above: int, workers: int) -> tuple[float, Plan]:
    began = time.perf_counter()
    plan = plan_allocation(inputs, solver, gap=GAP, split_above=split_above, workers=workers)
    return time.perf_counter() - began, plan


def _shifts(plan: Plan) -> set[tuple[str, str, str, int]]:
    return {(a.unit_id, a.region_id, a.period, a.shifts) for a in plan.assignments}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_blocks")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (median)")
    parser.add_argument("--regions", type=int, default=1500)
    args = parser.parse_args(argv if argv is not None else [])
    workers = block_workers()
    rows = []
    for label, border_km, split_above in INSTANCES:
        inputs = random_inputs(
            args.regions, round(0.15 * args.regions), 4, n_countries=6, border_km=border_km, seed=0
        )
        blocks = find_blocks(inputs, split_above)
        for solver in ("cbc", "highs"):
            alone, together = [], []
            for _ in range(args.repeats):  # interleaved, so both see the same machine
                alone.append(_plan(inputs, solver, split_above, 1))
                together.append(_plan(inputs, solver, split_above, workers))
            one, many = (statistics.median(s for s, _ in runs) for runs in (alone, together))
            same = all(
                _shifts(a) == _shifts(b) for (_, a), (_, b) in zip(alone, together, strict=True)
            )
            rows.append(
                (
                    label,
                    solver,
                    len(blocks),
                    len(waves(blocks)),
                    workers,
                    one,
                    many,
                    f"{many / one:.3f}",
                    f"{together[-1][1].objective:.1f}",
                    "yes" if same else "NO",
                )
            )
    print_table(
        f"crossplan blocks at once ({args.regions} regions, 6 countries, 4 periods, gap "
        f"{GAP:.0%}, no time limit): median wall s of {args.repeats} runs",
        COLUMNS,
        rows,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
