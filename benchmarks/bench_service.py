"""The planning service under load on localhost: ``/forecast`` and ``/plan`` on the default world.

Run with ``python -m benchmarks.bench_service [--seconds 60] [--home DIR]``. It simulates the
default world (seed 7), trains a champion into a temporary ``CROSSPLAN_HOME`` (or reuses
``--home``, e.g. the one ``make demo`` made), starts ``bentoml serve`` on a free loopback port
and drives it with a closed-loop asyncio load generator: 20 concurrent clients asking
for the forecast of every region at horizon 4, then one planner asking for 4-period plans.
Each phase runs for ``--seconds``. Baselines, measured in the same run: ``/healthz`` under the
same load (the HTTP stack alone) and the optimizer called in process on the same inputs.
Targets: ``/forecast`` p99 < 100 ms, ``/plan`` p95 < 2 s, no errors.

The clients use aiohttp (installed with BentoML and MLflow): on two cores the load generator
shares the CPU with the server, and an httpx client costs several times more per request,
so it would measure itself more than the service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import psutil

from benchmarks._table import median_seconds, print_table
from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, add_key
from crossplan.serving.commands.serve import server_env

HORIZON = 4
_CROSSPLAN = str(Path(sys.executable).with_name("crossplan"))
CLIENTS = 20
_WARMUP_SECONDS = 3.0


@dataclass
class Phase:
    """Latencies and failures of one load phase."""

    label: str
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.latencies, q)) if self.latencies else float("nan")

    def row(self, baseline: float | None) -> tuple[str, ...]:
        p50 = self.quantile(0.5)
        return (
            self.label,
            str(self.clients),
            str(len(self.latencies)),
            str(self.errors),
            _num(len(self.latencies) / self.seconds),
            _num(p50 * 1000),
            _num(self.quantile(0.95) * 1000),
            _num(self.quantile(0.99) * 1000),
            "" if baseline is None else f"{p50 / baseline:.1f}×",
        )


def _num(value: float) -> str:
    """Whole numbers from 10 up, one decimal below: fits the table in 80 columns."""
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


async def _load(
    url: str,
    path: str,
    body: dict[str, object] | None,
    headers: dict[str, str],
    phase: Phase,
    seconds: float,
) -> None:
    connector = aiohttp.TCPConnector(limit=phase.clients)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(
        url, headers=headers, connector=connector, timeout=timeout
    ) as session:

        async def one() -> bool:
            try:
                method = session.get(path) if body is None else session.post(path, json=body)
                async with method as r:
                    await r.read()
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        async def worker(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                start = time.perf_counter()
                ok = await one()
                if record:
                    phase.latencies.append(time.perf_counter() - start)
                    phase.errors += not ok

        warm_until = time.perf_counter() + min(_WARMUP_SECONDS, seconds / 10)
        await asyncio.gather(*(worker(warm_until, False) for _ in range(phase.clients)))
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(*(worker(until, True) for _ in range(phase.clients)))
        phase.seconds = time.perf_counter() - start


def run_phase(
    url: str,
    label: str,
    path: str,
    body: dict[str, object] | None,
    key: str,
    clients: int,
    seconds: float,
) -> Phase:
    """Drive ``path`` with ``clients`` closed-loop clients for ``seconds`` (after a warm-up)."""
    phase = Phase(label, clients)
    asyncio.run(_load(url, path, body, {"Authorization": f"Bearer {key}"}, phase, seconds))
    return phase


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``crossplan serve`` command."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int
    log: Path

    def tree(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(True)]
        return []

    def worker(self) -> psutil.Process:
        for p in self.tree():
            if "_bentoml_impl.worker" in " ".join(p.cmdline()):
                return p
        raise RuntimeError("no BentoML worker")

    def worker_rss(self, *, under: bool = True) -> int:
        """RSS of the worker and, with ``under``, every process under it (the forkserver,
        plans, solvers)."""
        total = 0
        worker = self.worker()
        for p in [worker, *(worker.children(recursive=True) if under else [])]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total


def service_env(home: Path, database_url: str) -> dict[str, str]:
    """The environment of a benchmarked ``crossplan serve``: the world and champion of ``home``,
    the database at ``database_url`` (never a reused home's own), nothing of the caller's
    MLflow or forecast settings."""
    dropped = ("PROMETHEUS_MULTIPROC_DIR", "MLFLOW_TRACKING_URI", "CROSSPLAN_FORECAST_FILE")
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    base.update(
        CROSSPLAN_HOME=str(home),
        CROSSPLAN_DATABASE_URL=database_url,
        BENTOML_HOME=str(home / "bentoml"),
    )
    return server_env(home / "world", base)


def bench_keys(database_url: str, home: Path) -> dict[Role, str]:
    """A key for each role in the database at ``database_url``; the reporter's is of the
    first country of ``home``'s world."""
    from crossplan.pipelines.contract import load_dataset

    country = str(min(load_dataset(home / "world").regions["country"]))
    db = Database.connect(database_url)
    try:
        keys = KeyStore(db)
        return {
            role: add_key(
                keys, f"bench-{role.value}", role,
                country=country if role is Role.REPORTER else None,
            )
            for role in Role
        }  # fmt: skip
    finally:
        db.dispose()


def bench_setup(tmp: Path, home: Path | None) -> tuple[Path, dict[Role, str], dict[str, str]]:
    """What a service benchmark runs on: the world and champion of ``home`` (made once, in
    ``tmp`` when no home is given), a database of the run's own in ``tmp`` (never a reused
    home's), a key per role in it, and the service's environment."""
    home = (home or tmp / "home").resolve()
    prepare(home)
    database = f"sqlite:///{tmp / 'crossplan.db'}"
    return home, bench_keys(database, home), service_env(home, database)


def start(env: dict[str, str], home: Path, port: int, log: Path) -> tuple[Server, float]:
    """Start ``crossplan serve`` (which imports the world into a new database); the server
    and the seconds it took to be ready."""
    began = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [_CROSSPLAN, "serve", "--data", str(home / "world"), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return Server(proc, url, port, log), time.monotonic() - began
        if proc.poll() is not None or time.monotonic() - began > 300:
            raise RuntimeError(f"the service did not start; see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


def settled(server: Server, analyst: str, seconds: float = 120) -> None:
    """Wait until MLflow has been asked about the local copy a start serves (the service
    swaps the champion in a few seconds after it is ready: not in the middle of a phase)."""
    from crossplan.serving.snapshot import CONFIRMING

    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {analyst}"}

    def waiting() -> bool:
        card = httpx.get(f"{server.url}/model", headers=headers, timeout=10).json()
        return bool((card["reason"] or "").endswith(CONFIRMING))

    while waiting():
        if time.monotonic() > deadline:
            raise RuntimeError(f"MLflow was never asked about the local copy; see {server.log}")
        time.sleep(0.2)


@contextlib.contextmanager
def serving(env: dict[str, str], home: Path, log: Path, analyst: str) -> Iterator[Server]:
    """A ``crossplan serve`` on a free loopback port, with the model it will keep serving
    (:func:`settled`, asking with the ``analyst`` key); stopped (SIGTERM) after the block."""
    server, _ = start(env, home, free_port(), log)
    try:
        settled(server, analyst)
        yield server
    finally:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=120)


def prepare(home: Path) -> None:
    """Simulate the default world and train a champion into ``home`` unless it has them."""
    from crossplan.pipelines.simulate import simulate_world
    from crossplan.pipelines.train import train

    if not (home / "world").exists():
        simulate_world(seed=7).write(home / "world")
    if not (home / "mlflow.db").exists():
        previous = os.environ.get("CROSSPLAN_HOME")
        os.environ["CROSSPLAN_HOME"] = str(home)  # training puts its artifacts there
        started = time.perf_counter()
        try:
            train(home / "world", horizon=HORIZON, tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
        finally:
            if previous is None:
                del os.environ["CROSSPLAN_HOME"]
            else:
                os.environ["CROSSPLAN_HOME"] = previous
        print(f"trained a champion on the default world in {time.perf_counter() - started:.0f} s")


def direct_plan_seconds(home: Path, repeats: int = 3) -> float:
    """Median time of the optimizer alone, in process, on the inputs ``/plan`` uses."""
    from crossplan.optimize import Inputs, plan_allocation
    from crossplan.pipelines.contract import load_dataset
    from crossplan.pipelines.forecasting import load_champion

    ds = load_dataset(home / "world")
    forecast = load_champion(f"sqlite:///{home / 'mlflow.db'}").predict(ds, HORIZON)
    assert ds.resources is not None

    def once() -> object:
        inputs = Inputs.from_resources(
            ds.resources or {}, ds.regions, forecast, ds.recent_counts().to_dict(), horizon=HORIZON
        )
        return plan_allocation(inputs, "cbc", time_limit=30)

    seconds, _ = median_seconds(once, repeats)
    return seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_service")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each load phase")
    parser.add_argument("--home", type=Path, help="reuse this CROSSPLAN_HOME (world + champion)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crossplan-bench-") as tmp:
        home, tokens, env = bench_setup(Path(tmp), args.home)
        key = tokens[Role.PLANNER]
        with serving(env, home, Path(tmp) / "server.log", tokens[Role.ANALYST]) as server:
            url = server.url
            health = run_phase(url, "/healthz", "/healthz", None, key, CLIENTS, args.seconds / 4)
            forecast = run_phase(
                url, "/forecast", "/forecast", {"horizon": HORIZON}, key,
                CLIENTS, args.seconds,
            )  # fmt: skip
            plan = run_phase(
                url, "/plan", "/plan", {"horizon": HORIZON}, key, 1,
                args.seconds,
            )  # fmt: skip
        direct = direct_plan_seconds(home)
    rows = [
        health.row(None),
        forecast.row(health.quantile(0.5)),
        plan.row(direct),
        ("optimizer", "1", "3", "0", _num(1 / direct), _num(direct * 1000), "", "", ""),
    ]
    print_table(
        f"crossplan service on localhost, default world, horizon {HORIZON}: "
        f"{args.seconds:.0f} s per phase",
        ("endpoint", "users", "reqs", "errs", "req/s", "p50 ms", "p95 ms", "p99 ms", "×base"),
        rows,
    )
    print(
        "users: concurrent closed-loop clients. /forecast: every region and category;"
        " ×base: p50 against /healthz under the same load."
        "\n/plan: one planner at a time; ×base: p50 against the optimizer called in process."
    )
    verdicts = {
        "/forecast p99 < 100 ms": forecast.quantile(0.99) < 0.1,
        "/plan p95 < 2 s": plan.quantile(0.95) < 2.0,
        "no errors": forecast.errors + plan.errors + health.errors == 0,
    }
    print("  ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in verdicts.items()))
    mean_ms = statistics.fmean(forecast.latencies) * 1000 if forecast.latencies else float("nan")
    print(f"percentiles of per-request latency over each phase; /forecast mean {mean_ms:.1f} ms")


if __name__ == "__main__":
    main()
