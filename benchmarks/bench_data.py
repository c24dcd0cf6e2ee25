"""Simulate and validate times: default world (60 regions × 156 weeks) and 5,000 × 260.

Run with ``python -m benchmarks.bench_data``. Times are medians of several runs; the ratio
column compares each step with simulating the same world, measured in the same run. Peak
memory is the process's maximum resident set size after each size.
"""

from __future__ import annotations

import resource
import tempfile
from functools import partial
from pathlib import Path

from benchmarks._table import median_seconds, print_table
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.simulate import simulate_world

# (label, regions, periods, repeats)
SIZES = (
    ("default 60×156", 60, 156, 5),
    ("large 5000×260", 5000, 260, 3),
)


def main() -> None:
    rows = []
    for label, regions, periods, repeats in SIZES:
        draw = partial(simulate_world, seed=7, regions=regions, periods=periods)
        sim_s, world = median_seconds(draw, repeats)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            write_s, _ = median_seconds(partial(world.write, out), repeats)
            validate_s, ds = median_seconds(partial(load_dataset, out), repeats)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cells = len(ds.incidents)
        rows += [
            (label, "simulate", sim_s, 1.0, cells / sim_s, peak_mb),
            (label, "write files", write_s, write_s / sim_s, cells / write_s, peak_mb),
            (label, "read + validate", validate_s, validate_s / sim_s, cells / validate_s, peak_mb),
        ]
    print_table(
        "crossplan data: simulate and validate (median seconds)",
        ("world", "step", "median s", "× simulate", "rows/s", "peak RSS MB"),
        rows,
    )


if __name__ == "__main__":
    main()
