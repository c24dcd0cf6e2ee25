"""The service against an attacker and an operator: memory, metrics, big plans, many planners,
log injection, SIGTERM under load and restart after ``kill -9``.

Run with ``python -m benchmarks.bench_hardening [--scale 1.0] [--home DIR]``. It prepares the
default world and a champion as :mod:`benchmarks.bench_service` does, then starts the real
``crossplan serve`` command (which owns the BentoML server) and measures, at ``--scale`` 1:

- worker RSS before and after 100,000 ``/healthz`` and 50,000 ``/forecast`` requests
  (20 clients; target: growth < 50 MB);
- ``/metrics`` size before and after 6,000 GETs of random paths without a key (target: within
  1%), and its scrape time;
- the oversized plan request (2,000 units, 200 joint operations, ``time_limit_s`` 10: about
  272 KB) and the largest plan the limits accept, with the same time limit: wall time against
  the deadline + 5 s, peak RSS of the worker and its planning processes (target < 1.5 GB),
  and whether a solver process outlives the answer;
- 8 concurrent plans with a forecast override of nearly the largest body (16 MiB): peak RSS
  of the worker, which reads and parses the bodies, per request against the body's size
  (target < 5×), and of the worker with its planning processes (two at a time, each with its
  plan's table and the panel; reported);
- 30 concurrent planners: statuses (no 5xx; 429 beyond the queue) and p95 of accepted plans;
- one GET whose URL holds ``%0A`` and a forged log line: how many log lines it left;
- SIGTERM while planners and forecasters are busy: whether any process of the service is
  left, and whether every acknowledged plan is in the store after a restart;
- ``kill -9`` of the command, then a restart on the same port: seconds to ready (< 15 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil

from benchmarks._table import print_table
from benchmarks.bench_service import (
    Server,
    bench_setup,
    free_port,
    serving,
    start,
)
from crossplan.serving.auth import Role

HORIZON = 4


async def _hammer(
    url: str, path: str, body: dict[str, Any] | None, key: str | None, n: int, clients: int
) -> tuple[int, int]:
    """``n`` requests by ``clients`` closed-loop clients; (answered 2xx, other)."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    left = n
    ok = bad = 0
    async with aiohttp.ClientSession(
        url, headers=headers, connector=aiohttp.TCPConnector(limit=clients)
    ) as session:

        async def worker() -> None:
            nonlocal left, ok, bad
            while left > 0:
                left -= 1
                try:
                    call = session.get(path) if body is None else session.post(path, json=body)
                    async with call as r:
                        await r.read()
                        ok, bad = (ok + 1, bad) if r.status < 300 else (ok, bad + 1)
                except aiohttp.ClientError:
                    bad += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    return ok, bad


def hammer(
    url: str, path: str, body: dict[str, Any] | None, key: str | None, n: int, clients: int = 20
) -> tuple[int, int]:
    return asyncio.run(_hammer(url, path, body, key, n, clients))


def memory_phase(s: Server, key: str, scale: float) -> list[tuple[str, ...]]:
    worker = s.worker()
    hammer(s.url, "/healthz", None, None, 2_000)
    hammer(s.url, "/forecast", {"horizon": HORIZON}, key, 1_000)
    before = worker.memory_info().rss
    n_health, n_forecast = int(100_000 * scale), int(50_000 * scale)
    began = time.monotonic()
    h_ok, h_bad = hammer(s.url, "/healthz", None, None, n_health)
    f_ok, f_bad = hammer(s.url, "/forecast", {"horizon": HORIZON}, key, n_forecast)
    seconds = time.monotonic() - began
    growth = (worker.memory_info().rss - before) / 2**20
    return [
        (
            f"{n_health:,} /healthz + {n_forecast:,} /forecast",
            f"{h_ok + f_ok:,} ok, {h_bad + f_bad} failed in {seconds:.0f} s",
            f"worker RSS {before / 2**20:.0f} → {worker.memory_info().rss / 2**20:.0f} MB "
            f"(+{growth:.1f})",
            "yes" if growth < 50 and h_bad + f_bad == 0 else "NO",
        )
    ]


def metrics_phase(s: Server, admin: str, scale: float) -> list[tuple[str, ...]]:
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=s.url, timeout=60) as http:
        for _ in range(1_000):  # every series exists, and its counts have 4 digits
            http.get(f"/{uuid.uuid4().hex}")
        before = http.get("/metrics", headers=auth).text
        before = http.get("/metrics", headers=auth).text
        n = int(6_000 * scale)
        worker_before = s.worker().memory_info().rss
        for _ in range(n):
            http.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex[:8]}")
        began = time.perf_counter()
        after = http.get("/metrics", headers=auth).text
        scrape = time.perf_counter() - began
        anonymous = http.get("/metrics").status_code
    change = abs(len(after) - len(before)) / len(before)
    series = (_series(before), _series(after))
    worker_growth = (s.worker().memory_info().rss - worker_before) / 2**20
    return [
        (
            f"{n:,} random-path GETs, no key",
            f"/metrics {len(before):,} → {len(after):,} bytes ({change:.2%}), series "
            f"{series[0]} → {series[1]}; scrape "
            f"{scrape * 1000:.0f} ms; worker +{worker_growth:.1f} MB; no key: {anonymous}",
            "within 1%",
            "yes" if change < 0.01 and series[0] == series[1] and anonymous == 401 else "NO",
        )
    ]


def _series(exposition: str) -> int:
    return sum(1 for line in exposition.splitlines() if line and not line.startswith("#"))


def _big_resources(home: Path, units: int, operations: int) -> dict[str, Any]:
    from crossplan.pipelines.contract import load_dataset

    ds = load_dataset(home / "world")
    assert ds.resources is not None
    doc = ds.resources.model_dump(mode="json")
    base_units, base_ops = doc["units"], doc["joint_operations"] or []
    doc["units"] = [
        {**base_units[i % len(base_units)], "unit_id": f"U{i:05d}"} for i in range(units)
    ]
    if base_ops:
        doc["joint_operations"] = [
            {**base_ops[i % len(base_ops)], "operation_id": f"JO-{i:04d}"}
            for i in range(operations)
        ]
    return doc


@contextlib.contextmanager
def _peak_rss(s: Server) -> Iterator[list[int]]:
    """The largest RSS of the worker with its planning processes, and of the worker alone,
    while the block runs, sampled at 10 Hz."""
    peak, done = [s.worker_rss(), s.worker_rss(under=False)], threading.Event()

    def sample() -> None:
        while not done.is_set():
            with contextlib.suppress(psutil.NoSuchProcess):
                peak[0] = max(peak[0], s.worker_rss())
                peak[1] = max(peak[1], s.worker_rss(under=False))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


def _solvers_left(s: Server) -> list[str]:
    return [
        p.name()
        for p in s.tree()
        if p.is_running() and any(w in p.name().lower() for w in ("cbc", "highs"))
    ]


def big_plan_phase(s: Server, home: Path, planner: str) -> list[tuple[str, ...]]:
    import json

    from crossplan.pipelines.contract import load_dataset
    from crossplan.pipelines.plan_request import SERVICE_LIMITS as limits

    n_regions = len(load_dataset(home / "world").regions)
    fit = min(limits.max_units, limits.max_cells // (n_regions * HORIZON))
    cases = [
        ("2,000 units, 200 joint operations", _big_resources(home, 2_000, 200)),
        (
            f"{fit} units, {limits.max_joint_operations} joint operations (the limits)",
            _big_resources(home, fit, limits.max_joint_operations),
        ),
    ]
    rows: list[tuple[str, ...]] = []
    for label, resources in cases:
        body = {"horizon": HORIZON, "resources": resources, "time_limit_s": 10}
        size = len(json.dumps(body))
        began = time.monotonic()
        with _peak_rss(s) as peak:
            r = httpx.post(
                f"{s.url}/plan",
                json=body,
                headers={"Authorization": f"Bearer {planner}"},
                timeout=120,
            )
            seconds = time.monotonic() - began
        time.sleep(0.5)
        left = _solvers_left(s)
        status = r.json().get("status") if r.status_code == 200 else r.json()["error"][:60]
        rows.append(
            (
                f"{label}, {size / 1024:.0f} KB, time_limit_s 10",
                f"{r.status_code} {status} in {seconds:.1f} s; peak RSS of the worker and "
                "its plan processes "
                f"{peak[0] / 2**30:.2f} GB; solvers left: {len(left)}",
                "≤ 15 s, < 1.5 GB, none left",
                "yes" if seconds <= 15 and peak[0] < 1.5 * 2**30 and not left else "NO",
            )
        )
    return rows


async def _planners(url: str, key: str, n: int) -> list[tuple[int, float]]:
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(url, headers=headers, timeout=timeout) as session:

        async def one() -> tuple[int, float]:
            began = time.perf_counter()
            async with session.post("/plan", json={"horizon": HORIZON, "time_limit_s": 10}) as r:
                await r.read()
                return r.status, time.perf_counter() - began

        return list(await asyncio.gather(*(one() for _ in range(n))))


def planners_phase(s: Server, planner: str) -> list[tuple[str, ...]]:
    results = asyncio.run(_planners(s.url, planner, 30))
    statuses = [status for status, _ in results]
    accepted = sorted(seconds for status, seconds in results if status == 200)
    p95 = accepted[max(0, round(0.95 * len(accepted)) - 1)] if accepted else float("nan")
    counts = ", ".join(f"{statuses.count(c)}×{c}" for c in sorted(set(statuses)))
    return [
        (
            "30 concurrent planners (2 slots, queue 8)",
            f"{counts}; accepted p50 {statistics.median(accepted):.1f} s, p95 {p95:.1f} s",
            "no 5xx, 429 beyond the queue",
            "yes" if all(c < 500 for c in statuses) and 429 in statuses else "NO",
        )
    ]


def _override_body(home: Path, target_bytes: int) -> bytes:
    """A ``/plan`` body whose forecast rows (every region and category of the world, period
    after period) fill about ``target_bytes`` of JSON."""
    import json

    import pandas as pd

    from crossplan.pipelines.contract import load_dataset

    ds = load_dataset(home / "world")
    cells = [(r, c) for r in ds.regions["region_id"] for c in ds.categories]
    sample = {"region_id": "r000", "category": ds.categories[0], "period": "2030-01-07",
              "activity_mean": 1.2345678, "activity_q10": 0.6172839, "activity_q50": 1.2345678,
              "activity_q90": 2.4691356, "detection_rate": 0.0512345}  # fmt: skip
    n_periods = target_bytes // (len(json.dumps(sample)) + 2) // len(cells)
    start = ds.periods[-1] + pd.Timedelta(weeks=1)
    rows = [
        {
            **sample,
            "region_id": r,
            "category": c,
            "period": str((start + pd.Timedelta(weeks=k)).date()),
        }
        for k in range(n_periods)
        for r, c in cells
    ]
    return json.dumps({"horizon": 1, "time_limit_s": 10, "forecast": rows}).encode()


async def _post_many(url: str, key: str, body: bytes, n: int) -> list[int]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(url, headers=headers, timeout=timeout) as session:

        async def one() -> int:
            async with session.post("/plan", data=body) as r:
                await r.read()
                return r.status

        return list(await asyncio.gather(*(one() for _ in range(n))))


def override_phase(s: Server, home: Path, planner: str) -> list[tuple[str, ...]]:
    from crossplan.serving.schemas import MAX_BODY_BYTES

    body = _override_body(home, MAX_BODY_BYTES - 512 * 1024)
    n, mb = 8, len(body) / 2**20
    before = [s.worker_rss(), s.worker_rss(under=False)]
    with _peak_rss(s) as peak:
        statuses = asyncio.run(_post_many(s.url, planner, body, n))
    # Bodies are read and parsed by the worker; the plan processes (two at a time) build and
    # solve each plan on the table they are sent.
    parsed, planned = ((peak[i] - before[i]) / 2**20 / n / mb for i in (1, 0))
    counts = ", ".join(f"{statuses.count(c)}×{c}" for c in sorted(set(statuses)))
    return [
        (
            f"{n} concurrent plans with a {mb:.1f} MB forecast override",
            f"{counts}; peak RSS of the worker {before[1] / 2**20:.0f} → {peak[1] / 2**20:.0f} "
            f"MB: {parsed:.1f}× the body a request; with its plan processes "
            f"{before[0] / 2**20:.0f} → {peak[0] / 2**20:.0f} MB: {planned:.1f}×",
            "no 5xx; the worker < 5× the body a request",
            "yes" if all(c < 500 for c in statuses) and parsed < 5 else "NO",
        )
    ]


def injection_phase(s: Server, analyst: str) -> list[tuple[str, ...]]:
    forged = (
        "2026-12-02T08:00:00+0000 [INFO] [entry_service:crossplan] 'ad' reloaded the model: 1 -> 99"
    )
    httpx.get(f"{s.url}/a%0A{forged.replace(' ', '%20')}", timeout=10)
    time.sleep(0.5)
    lines = [
        line for line in s.log.read_text().splitlines() if "reloaded the model: 1 -> 99" in line
    ]
    escaped = sum("/a\\n2026" in line for line in lines)
    return [
        (
            "GET /a%0A<forged log line>",
            f"{len(lines)} log line(s) hold it; {escaped} with the newline escaped",
            "exactly 1, escaped",
            "yes" if len(lines) == 1 and escaped == 1 else "NO",
        )
    ]


def sigterm_phase(
    env: dict[str, str], home: Path, planner: str, analyst: str, log: Path
) -> list[tuple[str, ...]]:
    port = free_port()
    s, _ = start(env, home, port, log)
    acknowledged: list[str] = []
    stop = threading.Event()

    def plan_loop() -> None:
        with httpx.Client(base_url=s.url, timeout=120) as http:
            while not stop.is_set():
                with contextlib.suppress(httpx.TransportError):
                    r = http.post(
                        "/plan",
                        json={"horizon": HORIZON, "time_limit_s": 5},
                        headers={"Authorization": f"Bearer {planner}"},
                    )
                    if r.status_code == 200:
                        acknowledged.append(r.json()["plan_id"])

    threads = [threading.Thread(target=plan_loop) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(8)
    tree = s.tree()
    began = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    code = s.proc.wait(timeout=120)
    stopped = time.monotonic() - began
    stop.set()
    for t in threads:
        t.join()
    _, alive = psutil.wait_procs(tree, timeout=5)
    s2, _ = start(env, home, port, log)
    with httpx.Client(base_url=s2.url, timeout=30) as http:
        auth = {"Authorization": f"Bearer {analyst}"}
        lost = [i for i in acknowledged if http.get(f"/plans/{i}", headers=auth).status_code != 200]
    # kill -9 of every process of the service (a crash), then a restart on the same port
    crashed = s2.tree()
    for p in crashed:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(crashed, timeout=10)
    s3, ready = start(env, home, port, log)
    s3.proc.send_signal(signal.SIGTERM)
    s3.proc.wait(timeout=120)
    return [
        (
            "SIGTERM under load (3 planners)",
            f"exit {code} in {stopped:.1f} s; processes left: {len(alive)}; "
            f"{len(acknowledged)} plans acknowledged, {len(lost)} lost",
            "none left, none lost",
            "yes" if not alive and not lost and acknowledged else "NO",
        ),
        (
            "restart after kill -9 of every process",
            f"ready in {ready:.1f} s on the same port",
            "< 15 s",
            "yes" if ready < 15 else "NO",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_hardening")
    parser.add_argument("--scale", type=float, default=1.0, help="share of the request counts")
    parser.add_argument("--home", type=Path, help="reuse this CROSSPLAN_HOME (world + champion)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crossplan-harden-") as tmp:
        home, tokens, env = bench_setup(Path(tmp), args.home)
        planner, analyst, admin = tokens[Role.PLANNER], tokens[Role.ANALYST], tokens[Role.ADMIN]
        log = Path(tmp) / "server.log"
        rows: list[tuple[str, ...]] = []
        with serving(env, home, log, analyst) as s:
            rows += injection_phase(s, analyst)
            rows += metrics_phase(s, admin, args.scale)
            rows += big_plan_phase(s, home, planner)
            rows += override_phase(s, home, planner)
            rows += planners_phase(s, planner)
            rows += memory_phase(s, planner, args.scale)
        rows += sigterm_phase(env, home, planner, analyst, Path(tmp) / "sigterm.log")
    print_table(
        f"crossplan serve hardened, default world, scale {args.scale:g}",
        ("probe", "measured", "target", "met"),
        rows,
    )


if __name__ == "__main__":
    main()
