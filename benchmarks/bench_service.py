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
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import numpy as np

from benchmarks._table import median_seconds, print_table
from serving.auth import KeysFile, Role, add_key
from serving.commands.serve import server_command, server_env

HORIZON = 4
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(home: Path, keys_file: Path, log: Path) -> Iterator[str]:
    """A ``bentoml serve`` process of the service on a free loopback port; its URL."""
    port = _free_port()
    dropped = ("PROMETHEUS_MULTIPROC_DIR", "MLFLOW_TRACKING_URI", "CROSSPLAN_FORECAST_FILE")
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    base.update(
        CROSSPLAN_HOME=str(home),
        CROSSPLAN_API_KEYS_FILE=str(keys_file),
        BENTOML_HOME=str(home / "bentoml"),
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            server_command(port), env=server_env(home / "world", base), stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the service did not start; see {log}:\n{log.read_text()[-2000:]}"
                )
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def prepare(home: Path) -> None:
    """Simulate the default world and train a champion into ``home`` unless it has them."""
    from pipelines.simulate import simulate_world
    from pipelines.train import train

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
    from optimize import Inputs, plan_allocation
    from pipelines.contract import load_dataset
    from pipelines.forecasting import load_champion

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
        home = (args.home or Path(tmp) / "home").resolve()
        prepare(home)
        keys = KeysFile(Path(tmp) / "bench_keys.json")  # never the keys of a reused home
        key = add_key(keys, "bench", Role.PLANNER)
        with serving(home, keys.path, Path(tmp) / "server.log") as url:
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
