"""Training at scale: wall time and peak memory of ``crossplan train`` by number of regions.

``python -m benchmarks.bench_train_scale [--regions 1500 5000] [--baseline PATH]
[--origins N] [--refit-every K]``

Each row simulates a world of R regions and 156 weeks (seed 0), then runs
``crossplan train --data WORLD --origins 4`` (``--origins``, ``--refit-every``: a longer
backtest, whose forecast rows the training holds) in a process of its own and reads that
process's wall time and peak resident memory (``os.wait4``). ``--baseline`` names the ``crossplan``
executable of another installation (for instance the previous release in a virtual
environment of its own): it trains the same worlds in the same run, one after the other, and
the table gives the ratios. ``--load`` runs a CPU-bound process beside each training, as a
second job on a shared server would. Run without options (as ``python -m benchmarks`` does),
it trains one small world, once, to show the figures' shape.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._table import print_table

__all__ = ["main"]

#: Backtest origins of the command that trains: four, as a large panel's first training runs it.
ORIGINS = 4
WEEKS = 156


def _crossplan() -> str:
    return str(Path(sys.executable).with_name("crossplan"))


def _run(argv: list[str], env: dict[str, str], load: bool) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of ``argv`` (and its waited-for children)."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
    try:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {os.waitstatus_to_exitcode(status)})")
    return seconds, usage.ru_maxrss / 1024  # Linux gives KiB


def _train(
    exe: str, world: Path, home: Path, load: bool, backtest: list[str]
) -> tuple[float, float]:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "CROSSPLAN_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return _run([exe, "train", *backtest, "--quiet", "--data", str(world)], env, load)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_train_scale")
    parser.add_argument("--regions", type=int, nargs="+", default=[120])
    parser.add_argument("--baseline", help="another installation's crossplan executable")
    parser.add_argument("--load", action="store_true", help="a CPU-bound process beside")
    parser.add_argument("--origins", type=int, default=ORIGINS, help="backtest origins")
    parser.add_argument("--refit-every", type=int, help="refit every this many origins")
    args = parser.parse_args(argv if argv is not None else [])
    backtest = ["--origins", str(args.origins)]
    if args.refit_every:
        backtest += ["--refit-every", str(args.refit_every)]
    exe = _crossplan()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for regions in args.regions:
            world = Path(tmp) / f"world{regions}"
            subprocess.run(
                [exe, "simulate", "--out", str(world), "--seed", "0", "--regions",
                 str(regions), "--periods", str(WEEKS), "--quiet"],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            now = _train(exe, world, Path(tmp) / "home", args.load, backtest)
            row: list[object] = [regions, f"{now[0]:.0f}", f"{now[1]:,.0f}"]
            if args.baseline:
                before = _train(args.baseline, world, Path(tmp) / "home", args.load, backtest)
                row += [f"{before[0]:.0f}", f"{before[1]:,.0f}"]
                row += [f"{now[0] / before[0]:.2f}", f"{now[1] / before[1]:.2f}"]
            rows.append(row)
    columns = ["regions", "train s", "peak MiB"]
    if args.baseline:
        columns += ["baseline s", "baseline MiB", "time ratio", "memory ratio"]
    load = "with a CPU-bound process beside" if args.load else "nothing else started"
    print_table(
        f"crossplan train {' '.join(backtest)}, {WEEKS} weeks, one run each ({load})",
        columns,
        rows,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
