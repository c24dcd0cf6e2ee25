"""A replica dies with its ``crossplan serve``: ``kill -9`` of the command's own pid ends
BentoML's server and its workers (each in a session of its own) within seconds, even with a
request in flight, and the port stops answering. (And its log holds no key sent in a URL.)"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.ports import free_port

pytestmark = pytest.mark.slow

_CROSSPLAN = str(Path(sys.executable).with_name("crossplan"))
# kill -9 of the command to every process of the replica gone, and the port closed.
_DEATH_SECONDS = 10.0


@contextlib.contextmanager
def _crossplan_serve(
    env: dict[str, str], data: Path, port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``crossplan serve``, ready; whatever is left of it is killed on exit."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [_CROSSPLAN, "serve", "--data", str(data), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while not _answers(port, "/readyz"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"crossplan serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        tree = psutil.Process(proc.pid).children(recursive=True)
        yield proc
    finally:
        for process in tree:  # not to leave a replica behind when the test fails
            with contextlib.suppress(psutil.Error):
                process.kill()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def _answers(port: int, path: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_kill_9_of_crossplan_serve_ends_every_process_of_its_replica(
    service_home: Any, forecast_file: Path, tiny_world_dir: Path, tmp_path: Path
) -> None:
    home_env, keys = service_home(tmp_path / "home", forecast=forecast_file)
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(home_env, BENTOML_HOME=str(tmp_path / "home" / "bentoml"))
    port, log = free_port(), tmp_path / "serve.log"
    with _crossplan_serve(env, tiny_world_dir, port, log) as serve:
        # (On the way: keys sent in a query string are not in the replica's log.)
        url = f"http://127.0.0.1:{port}/me?api_key={keys['planner']}&token=t0k3n-s3cr3t"
        assert httpx.get(url, timeout=10).status_code == 401
        tree = psutil.Process(serve.pid).children(recursive=True)
        sessions = {os.getsid(p.pid) for p in tree}
        assert len(sessions) >= 2  # BentoML's server and its worker: sessions of their own
        # A request in flight (its body never comes), which a graceful stop would wait for.
        head = (
            f"POST /forecast HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {keys['planner']}\r\nContent-Length: 100\r\n\r\n{{"
        )
        with socket.create_connection(("127.0.0.1", port)) as in_flight:
            in_flight.sendall(head.encode())
            time.sleep(0.5)
            killed = time.monotonic()
            serve.send_signal(signal.SIGKILL)
            serve.wait()
            _, alive = psutil.wait_procs(tree, timeout=_DEATH_SECONDS)
            assert not alive, [p.cmdline()[:4] for p in alive]
            while _port_open(port) and time.monotonic() - killed < _DEATH_SECONDS:
                time.sleep(0.2)
            assert not _port_open(port)
    written = log.read_text()
    assert '"GET /me?api_key=***&token=***" 401' in written
    assert keys["planner"] not in written and "t0k3n-s3cr3t" not in written
