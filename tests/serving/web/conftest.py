"""Fixtures of the page's tests: a real service on the default world, and a headless Chromium.

One server process and one browser serve every browser test of a process (they take seconds
to start): session fixtures, so that a worker running other modules' tests between two
browser tests does not start them again. The service serves a stand-in forecast of the default world through its
``CROSSPLAN_FORECAST_FILE`` seam: the page is under test here, not the model.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from pipelines.contract import Dataset, load_dataset
from serving.commands.serve import server_command, server_env

ROOT = Path(__file__).resolve().parents[3]
# Screenshots and downloads of the browser tests; gitignored.
ARTIFACTS = Path(os.environ.get("CROSSPLAN_TEST_ARTIFACTS") or ROOT / "test-artifacts" / "web")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
)
_START_SECONDS = 120


def default_world_forecast(dataset: Dataset, periods: int = 12) -> pd.DataFrame:
    """A forecast table: each cell's recent mean count, doubled, growing 5% a period."""
    inc = dataset.incidents.assign(observed=dataset.observed())
    recent = inc[inc["period"] >= dataset.periods[-8]]
    level = recent.groupby(["region_id", "category"])["observed"].mean().fillna(0).reset_index()
    ahead = pd.date_range(
        dataset.periods[-1] + pd.Timedelta(weeks=1), periods=periods, freq="W-MON"
    )
    table = pd.concat(
        [level.assign(period=p, step=k) for k, p in enumerate(ahead)], ignore_index=True
    )
    mean = (table.pop("observed") * 2.0 + 0.5) * (1.05 ** table.pop("step"))
    return table.assign(
        activity_mean=mean,
        activity_q10=0.5 * mean,
        activity_q50=mean,
        activity_q90=1.7 * mean,
        detection_rate=0.05,
    )


@dataclass
class LiveService:
    """A running ``bentoml serve`` of the default world, its keys, and its panel."""

    url: str
    keys: dict[str, str]
    dataset: Dataset
    http: httpx.Client

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_service(
    service_home: Any, default_world_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    dataset = load_dataset(default_world_dir)
    work = tmp_path_factory.mktemp("page")
    forecast = work / "forecast.parquet"
    default_world_forecast(dataset).to_parquet(forecast)
    env, keys = service_home(work / "home", forecast=forecast)
    base = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    base.update(env, BENTOML_HOME=str(Path(env["CROSSPLAN_HOME"]) / "bentoml"))
    port = _free_port()
    log = work / "server.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            server_command(port),
            env=server_env(default_world_dir, base),
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            deadline = time.monotonic() + _START_SECONDS
            while not _ready(http):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield LiveService(url, keys, dataset, http)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ready(http: httpx.Client) -> bool:
    try:
        return http.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="session")
def downloads() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="crossplan-downloads-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(downloads: Path) -> Iterator[Any]:
    """Headless Chromium driven by Selenium; fails (never skips) when Chromium is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the page's tests need Debian's Chromium — "
            "run `apt-get update && apt-get install -y chromium chromium-driver` (.ci/run does)"
        )
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="crossplan-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the browser tests leave their screenshots (created, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
