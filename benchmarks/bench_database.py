"""The shared database at 5,000 regions × 260 weeks, on SQLite and on PostgreSQL.

Run with ``python -m benchmarks.bench_database``. For each database it times (medians of
several runs) the submission of one week for 5,000 regions × 2 categories (10,000 rows,
validated, compared with the stored cells and stored), and the rebuild of the current panel
(2.6 million cells) from the stored versions; the ratios compare them with the data contract
alone on the same rows and with reading the same panel from its Parquet file, measured in the
same run. Then 20 clients ask ``POST /forecast`` of a real ``bentoml serve`` of the default
world for 20 seconds while a reporter submits a week every half second: every answer must be
a 200. PostgreSQL is the server ``CROSSPLAN_TEST_POSTGRES_URL`` names, else a private one
(Debian's ``postgresql`` package, as the tests start it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from benchmarks._table import median_seconds, print_table
from benchmarks.bench_service import free_port
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.contract.incidents import check_incidents
from crossplan.pipelines.database import (
    Database,
    Submitter,
    import_directory,
    load_panel,
    submit_incidents,
)
from crossplan.pipelines.simulate import simulate_world
from crossplan.serving.auth import KeyStore, Role, add_key
from crossplan.serving.commands.serve import server_command, server_env

REPEATS = 3
LOAD_SECONDS = 20.0
CLIENTS = 20


def _world(out: Path, regions: int, periods: int) -> pd.DataFrame:
    """A world whose last week is the last one before now (so no period is in the future)."""
    simulate_world(seed=7, regions=regions, periods=periods).write(out)
    inc = pd.read_parquet(out / "incidents.parquet")
    this_monday = pd.Timestamp.now().normalize() - pd.Timedelta(days=pd.Timestamp.now().weekday())
    shift = (this_monday - pd.Timedelta(weeks=1)) - inc["period"].max()
    inc["period"] = inc["period"] + pd.Timedelta(weeks=shift.days // 7)
    inc.to_parquet(out / "incidents.parquet", index=False)
    (out / "truth.parquet").unlink(missing_ok=True)
    return inc


def _week(inc: pd.DataFrame, bump: int) -> pd.DataFrame:
    """The week after the panel's last one: its last week's rows, moved on and changed."""
    last = inc[inc["period"] == inc["period"].max()].copy()
    last["period"] = (last["period"] + pd.Timedelta(weeks=1)).dt.strftime("%Y-%m-%d")
    last["detected"] = last["detected"].fillna(0) + bump
    return last.reset_index(drop=True)


@contextlib.contextmanager
def _databases(tmp: Path) -> Iterator[list[tuple[str, str]]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.postgres import fresh_database, postgres_server

    with postgres_server() as server, fresh_database(server) as pg:
        yield [("SQLite", f"sqlite:///{tmp / 'crossplan.db'}"), ("PostgreSQL", pg)]


def _store_rows(url: str, data: Path, inc: pd.DataFrame) -> list[tuple[Any, ...]]:
    db = Database.connect(url)
    started = time.perf_counter()
    import_directory(db, data, Submitter("bench"))
    import_s = time.perf_counter() - started
    regions = load_dataset(data).regions["region_id"]
    bumps = iter(range(1, 100))

    def submit() -> Any:
        week = _week(inc, next(bumps))
        return submit_incidents(db, week.astype(object), file="week.parquet",
                                row_of=lambda i: i + 1, submitter=Submitter("bench"))  # fmt: skip

    week = _week(inc, 0)
    contract_s, _ = median_seconds(
        lambda: check_incidents(week.astype(object), "week", lambda i: i + 1, regions), REPEATS
    )
    submit_s, result = median_seconds(submit, REPEATS)
    rebuild_s, panel = median_seconds(lambda: load_panel(db), REPEATS)
    parquet_s, _ = median_seconds(lambda: load_dataset(data), REPEATS)
    db.dispose()
    cells = len(panel.dataset.incidents)
    return [
        ("import 5000×260 (once)", import_s, float("nan"), f"{cells:,} cells"),
        ("submit one week", submit_s, submit_s / contract_s,
         f"{result.rows:,} rows, {result.new + result.corrected:,} stored"),
        ("rebuild current panel", rebuild_s, rebuild_s / parquet_s, f"{cells:,} cells"),
    ]  # fmt: skip


def _load(url: str, home: Path, data: Path, inc: pd.DataFrame) -> tuple[Any, ...]:
    """20 clients on /forecast of a real server while a reporter submits every half second."""
    db = Database.connect(url)
    keys = KeyStore(db)
    planner = add_key(keys, "planner", Role.PLANNER, replace=True)
    admin = add_key(keys, "submitter", Role.ADMIN, replace=True)
    db.dispose()
    week = inc[inc["period"] == inc["period"].max()]
    table = (week.groupby(["region_id", "category"], as_index=False)["detected"].mean()
             .rename(columns={"detected": "activity_mean"}))  # fmt: skip
    ahead = [week["period"].max() + pd.Timedelta(weeks=k) for k in range(1, 13)]
    fc = pd.concat([table.assign(period=p) for p in ahead], ignore_index=True)
    fc["activity_mean"] = fc["activity_mean"].fillna(0) + 0.5
    fc = fc.assign(activity_q10=0.5 * fc["activity_mean"], activity_q50=fc["activity_mean"],
                   activity_q90=2 * fc["activity_mean"], detection_rate=0.05)  # fmt: skip
    fc.to_parquet(home / "forecast.parquet")
    env = {**os.environ, "CROSSPLAN_HOME": str(home), "CROSSPLAN_DATABASE_URL": url,
           "CROSSPLAN_FORECAST_FILE": str(home / "forecast.parquet"),
           "BENTOML_HOME": str(home / "bentoml")}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    log = open(home / "server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(server_command(port), env=server_env(data, env), stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []
    latencies: list[float] = []
    submitted: list[int] = []
    try:
        _wait_ready(base, proc)
        stop = threading.Event()
        lock = threading.Lock()

        def client() -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                while not stop.is_set():
                    started = time.perf_counter()
                    code = http.post("/forecast", json={"horizon": 4},
                                     headers={"Authorization": f"Bearer {planner}"}).status_code  # fmt: skip
                    with lock:
                        statuses.append(code)
                        latencies.append(time.perf_counter() - started)

        def reporter() -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                for bump in range(1, 10_000):
                    if stop.is_set():
                        return
                    rows = _week(inc, bump).to_csv(index=False)
                    r = http.post("/submissions", content=rows,
                                  headers={"Authorization": f"Bearer {admin}",
                                           "Content-Type": "text/csv"})  # fmt: skip
                    submitted.append(r.status_code)
                    time.sleep(0.5)

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        threads.append(threading.Thread(target=reporter))
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        stop.set()
        for t in threads:
            t.join()
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    errors = sum(s != 200 for s in statuses) + sum(s != 200 for s in submitted)
    q = statistics.quantiles(latencies, n=20)
    return (len(statuses) / LOAD_SECONDS, q[9], q[18], len(submitted), errors)


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server stopped; see server.log")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")


def _in_temp(fn: Callable[[Path], None]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="crossplan-bench-db-"))
    try:
        fn(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    def run(tmp: Path) -> None:
        large = _world(tmp / "large", 5000, 260)
        small = _world(tmp / "default", 60, 156)
        store_rows: list[tuple[Any, ...]] = []
        load_rows: list[tuple[Any, ...]] = []
        with _databases(tmp) as databases:
            for name, url in databases:
                store_rows += [(name, *row) for row in _store_rows(url, tmp / "large", large)]
        with _databases(tmp / "load") as databases:
            (tmp / "load").mkdir(exist_ok=True)
            for name, url in databases:
                home = tmp / f"home-{name}"
                home.mkdir()
                load_rows.append((name, *_load(url, home, tmp / "default", small)))
        print_table(
            "shared database, 5000 regions × 260 weeks × 2 categories (median seconds)",
            ("database", "step", "median s", "× baseline", "size"),
            store_rows,
        )
        print("  baselines: submit = the data contract's check of the same rows; rebuild = "
              "reading and validating the same panel from its Parquet file")  # fmt: skip
        print_table(
            f"{CLIENTS} clients on POST /forecast for {LOAD_SECONDS:.0f} s while a week is "
            "submitted every 0.5 s (default world)",
            ("database", "requests/s", "p50 s", "p95 s", "submissions", "errors"),
            load_rows,
        )

    _in_temp(run)


if __name__ == "__main__":
    main()
