"""crossplan's champion against what a data scientist would pick instead, on the same folds.

Run with ``make bench-peers`` (or ``python -m benchmarks.bench_peers`` once the peers'
environment exists). On the real development panel (deaths in terrorist incidents by country
and year, :mod:`pipelines.panels.nkill`), every origin of the last 26 years, horizons 1-4:
crossplan's candidates are backtested and the champion chosen exactly as ``crossplan train``
chooses it; the peers (mlforecast with LightGBM on lags and rolling means; statsforecast's
AutoETS, CrostonSBA and ADIDA) run in their own environment (``benchmarks/peers``: they
require pandas < 3) on the same origins, and everything is scored by the same mean Poisson
deviance (predictions floored at 0.1) against the same outcomes. Each candidate's 80% interval
is judged on its count-aware coverage (the one the selection uses, ties at the interval's
ends split), its plain coverage and each end separately (the share below q10 and above q90).

The peers need regular series, so the panel's missing year (1993) is filled for them by
interpolating its neighbours, as a data scientist would; crossplan's models see it missing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._table import print_table
from crossplan.pipelines.backtest import candidates
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.conventions import COVERAGE_METRIC
from crossplan.pipelines.metrics import poisson_deviance
from crossplan.pipelines.panels.nkill import write_nkill_panel
from crossplan.pipelines.selection import compare

ORIGINS, HORIZON = 26, 4
_PEERS = Path(__file__).with_name("peers")
_DEFAULT_PYTHON = Path(__file__).parents[1] / ".venv-peers" / "bin" / "python"


def peers_python() -> Path:
    """The peers' interpreter: ``$CROSSPLAN_PEERS_PYTHON`` or ``.venv-peers/bin/python``."""
    return Path(os.environ.get("CROSSPLAN_PEERS_PYTHON") or _DEFAULT_PYTHON)


def _peer_panel(incidents: pd.DataFrame) -> pd.DataFrame:
    wide = incidents.pivot(index="period", columns="region_id", values="count").astype(float)
    grid = pd.date_range(wide.index.min(), wide.index.max(), freq="YS")
    wide = wide.reindex(grid).interpolate()
    long = wide.stack().rename("y").reset_index()
    long.columns = pd.Index(["ds", "unique_id", "y"])
    return long[["unique_id", "ds", "y"]]


def run_peers(incidents: pd.DataFrame, origins: list[pd.Timestamp], work: Path) -> pd.DataFrame:
    """Peer forecasts on ``origins``: ``model, origin, region_id, period, horizon, prediction``."""
    panel, out = work / "peer_panel.csv", work / "peer_forecasts.csv"
    _peer_panel(incidents).to_csv(panel, index=False)
    dates = ",".join(f"{o:%Y-%m-%d}" for o in origins)
    subprocess.run(
        [str(peers_python()), str(_PEERS / "run_peers.py"), str(panel), dates, str(HORIZON),
         str(out)],
        check=True,
    )  # fmt: skip
    peers = pd.read_csv(out, parse_dates=["origin", "ds"])
    peers = peers.rename(columns={"unique_id": "region_id", "ds": "period"})
    peers["horizon"] = peers.groupby(["model", "origin", "region_id"]).cumcount() + 1
    return peers


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_nkill_panel(work / "nkill")
        ds = load_dataset(work / "nkill")
        models = candidates(HORIZON, has_effort=ds.has_effort)
        start = time.perf_counter()
        comparison = compare(
            ds.incidents, ds.regions, ds.adjacency, models,
            has_effort=ds.has_effort, origins=ORIGINS, horizon=HORIZON, refit_every=1,
            frequency=ds.frequency,
        )  # fmt: skip
        result, selection = comparison.result, comparison.selection
        seconds = time.perf_counter() - start
        observed = {n: m["observed"] for n, m in result.metrics().items()}
        champion = selection.candidate
        pred = result.predictions
        rows = pred[["model", "origin", "horizon", "region_id", "period", "actual", "prediction"]]
        have_peers = peers_python().exists()
        if have_peers:
            peers = run_peers(ds.incidents, result.origins, work)
            actual = pred[pred["model"] == champion][["origin", "region_id", "period", "actual"]]
            peers = peers.merge(actual, on=["origin", "region_id", "period"], how="inner")
            rows = pd.concat([rows, peers[rows.columns]], ignore_index=True)
    rows = rows.dropna(subset=["actual"])
    dev = {
        (m, h): poisson_deviance(g["actual"], g["prediction"])
        for (m, h), g in rows.groupby(["model", "horizon"])
    }
    base = dev[("last_value", 1)]
    table = []
    for model in sorted({m for m, _ in dev}, key=lambda m: dev[(m, 1)]):
        label = f"{model} (champion)" if model == champion else model
        m = observed.get(model, {})
        intervals = [m.get(k, np.nan) for k in (COVERAGE_METRIC, "coverage80", "pit_below_q10",
                                                "pit_above_q90", "interval_score80")]  # fmt: skip
        per_h = [dev.get((model, h), np.nan) for h in range(1, HORIZON + 1)]
        table.append((label, per_h[0], per_h[0] / base, *per_h[1:], *intervals))
    print_table(
        f"Real panel (deaths by country and year), {ORIGINS} origins "
        f"{result.origins[0]:%Y}-{result.origins[-1]:%Y}: mean Poisson deviance; the 80% "
        "interval's count-aware and plain coverage, count-aware misses below q10 and above q90 "
        "(0.10 each is nominal), score",
        ("model", "h=1", "vs last value", "h=2", "h=3", "h=4", "pit_cov80", "cov80", "<q10",
         ">q90", "IS80"),
        table,
    )  # fmt: skip
    print(f"selection: {selection.reason}")
    print(
        "mean deviance over horizons minus the champion's, with its interval: "
        + ", ".join(
            f"{name} {s['vs_chosen']['difference']:+.1f} "
            f"({s['vs_chosen']['interval90'][0]:+.1f} .. {s['vs_chosen']['interval90'][1]:+.1f})"
            for name, s in selection.scores.items()
            if name != champion
        )
    )
    by_h = result.metrics("horizon")[champion]["observed"]
    print(
        "champion's count-aware (plain) coverage by horizon: "
        + ", ".join(
            f"h={h} {v[COVERAGE_METRIC]:.3f} ({v['coverage80']:.3f})"
            for h, v in sorted(by_h.items())
        )
    )
    print(f"crossplan backtest of {len(models)} candidates and the blend: {seconds:.0f} s")
    if not have_peers:
        print(
            f"peers not run: no interpreter at {peers_python()} — create it with make bench-peers"
        )


if __name__ == "__main__":
    main()
