"""``crossplan serve``: checks before it starts, then the service on the chosen port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossplan.serving.cli import main


def test_a_missing_demo_world_says_how_to_make_it(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert str(crossplan_home / "world") in err
    assert "make demo" in err


def test_a_bad_data_directory_lists_its_problems(
    crossplan_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "regions.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    assert main(["serve", "--data", str(data)]) == 2
    assert "incidents" in capsys.readouterr().err


def test_a_port_in_use_is_refused_before_starting(
    crossplan_home: Path, tiny_world_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--data", str(tiny_world_dir), "--port", str(port)]) == 2
    assert "choose another --port" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_starts_the_service_and_stops_on_ctrl_c(
    service_home: Any, tiny_world_dir: Path, forecast_file: Path, tmp_path: Path
) -> None:
    env, keys = service_home(tmp_path / "home", forecast=forecast_file)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crossplan.serving.cli",
            "serve",
            "--data",
            str(tiny_world_dir),
            "--port",
            str(port),
        ],
        env={**_inherited(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        r = httpx.post(
            f"{url}/forecast",
            json={"horizon": 1},
            headers={"Authorization": f"Bearer {keys['planner']}"},
        )
        assert r.status_code == 200
        assert (Path(env["CROSSPLAN_HOME"]) / "bentoml").is_dir()  # its model store lives at home
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()[-2000:]


def _inherited() -> dict[str, str]:
    drop = ("PROMETHEUS_MULTIPROC_DIR", "BENTOML_HOME")  # the server makes its own
    return {k: v for k, v in os.environ.items() if k not in drop}
