"""Fixtures of the page's tests: a real service on the default world, and a headless Chromium.

One server process and one browser serve every browser test of a process (they take seconds
to start): session fixtures, so that a worker running other modules' tests between two
browser tests does not start them again. The service serves a stand-in forecast of the default world through its
``CROSSPLAN_FORECAST_FILE`` seam: the page is under test here, not the model. Besides the
operator's key of each role, it knows keys of some countries' agencies (:data:`AGENCY_KEYS`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from crossplan.pipelines.contract import Dataset, load_dataset
from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, add_key

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

# Keys of agencies of the default world. GRC reads its own regions and those its agreements
# (with ALB, BGR and MNE) cover region by region; the rest only as totals. BGR and MNE share
# an agreement (the joint operations' tests: BGR hosts, MNE is its partner).
AGENCY_KEYS = {
    "grc-analyst": (Role.ANALYST, "GRC", "Border Police"),
    "grc-planner": (Role.PLANNER, "GRC", "Border Police"),
    "grc-reporter": (Role.REPORTER, "GRC", "Border Police"),
    "bgr-planner": (Role.PLANNER, "BGR", "Border Police"),
    "mne-planner": (Role.PLANNER, "MNE", "Border Police"),
    "mne-analyst": (Role.ANALYST, "MNE", "Border Police"),
}


def add_agency_keys(
    home: Path, keys: dict[str, tuple[Role, str, str]] = AGENCY_KEYS
) -> dict[str, str]:
    """Add ``keys`` (name: role, country, agency) to the service home's database: their
    tokens."""
    db = Database.connect(f"sqlite:///{home / 'crossplan.db'}")
    try:
        store = KeyStore(db)
        return {
            name: add_key(store, name, role, country=country, agency=agency)
            for name, (role, country, agency) in keys.items()
        }
    finally:
        db.dispose()


@dataclass
class LiveService:
    """A running ``bentoml serve`` of the default world, its keys, and its panel."""

    url: str
    keys: dict[str, str]
    dataset: Dataset
    http: httpx.Client

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def region_level(self, country: str) -> set[str]:
        """The regions a key of ``country`` reads region by region: its own and its
        agreements'."""
        regions = self.dataset.regions
        shown = set(regions.loc[regions["country"] == country, "region_id"])
        assert self.dataset.resources is not None
        for agreement in self.dataset.resources.agreements:
            if country in agreement.countries:
                shown |= set(agreement.regions)
        return shown


@pytest.fixture(scope="session")
def live_service(
    service_home: Any,
    run_server: Any,
    stand_in_forecast: Callable[..., pd.DataFrame],
    default_world_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveService]:
    dataset = load_dataset(default_world_dir)
    work = tmp_path_factory.mktemp("page")
    forecast = work / "forecast.parquet"
    stand_in_forecast(dataset, growth=0.05).to_parquet(forecast)
    env, keys = service_home(work / "home", forecast=forecast)
    keys |= add_agency_keys(work / "home")
    with run_server(env, default_world_dir, work / "server.log") as server:
        yield LiveService(str(server.http.base_url).rstrip("/"), keys, dataset, server.http)


@pytest.fixture
def grc(live_service: LiveService) -> dict[str, Any]:
    """What GRC reads region by region, and two regions: one outside it, one inside."""
    dataset = live_service.dataset
    shown = live_service.region_level("GRC")
    regions = dataset.regions.set_index("region_id")
    hidden = sorted(set(regions.index) - shown)
    partner = sorted(r for r in shown if regions.loc[r, "country"] != "GRC")
    assert hidden and partner  # the default world has both
    return {"shown": shown, "hidden": hidden, "partner": partner, "country": regions["country"]}


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
            "run `apt-get update && apt-get install -y chromium chromium-driver` (make test does)"
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


class Page:
    """The map page as a test meets it: a browser tab on the live service.

    Waits poll the page (``until``) and fail with what the page says; everything else reads
    what is drawn: the regions' SVG paths, their fills, the panels.
    """

    WAIT = 30.0
    # The fill of a region the key reads only as its country's total (serving/web/js/map.js).
    COUNTRY_LEVEL = "url(#country-level)"

    def __init__(self, driver: Any, service: LiveService) -> None:
        self.driver = driver
        self.service = service

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def find(self, css: str) -> Any:
        return self.driver.find_element("css selector", css)

    def find_all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements("css selector", css))

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def until(self, check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                said = self.js("return document.body.innerText")[-1500:]
                pytest.fail(f"timed out waiting for {what}; the page says:\n{said}")
            time.sleep(0.05)

    def viewport(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def open(self, path: str = "/") -> None:
        """A fresh page: this tab's session (and so any key) forgotten, the console empty."""
        self.driver.get(self.service.url + "/web/config.json")
        self.js("sessionStorage.clear()")
        self.driver.get_log("browser")
        self.driver.get(self.service.url + path)

    def sign_in(self, key: str) -> None:
        self.until(
            lambda: self.js("return document.body.dataset.state") == "signed-out",
            "the sign-in form",
        )
        self.find("#key").send_keys(key)
        self.find("#sign-in-form button[type=submit]").click()

    def signed_in(self, role: str, layer: str) -> None:
        """Open the page, sign in with ``role``'s key and wait for the map to show ``layer``."""
        self.open()
        self.sign_in(self.service.keys[role])
        self.until(lambda: self.layer() == layer, f"the {layer} layer after signing in as {role}")

    def layer(self) -> str | None:
        """What the map shows: 'forecast', 'plan' or the bare 'regions'."""
        return self.js("return document.querySelector('#map')?.dataset.layer ?? null")

    def fills(self) -> dict[str, str]:
        """The fill colour of every region path drawn on the map."""
        return dict(
            self.js(
                "return Object.fromEntries([...document.querySelectorAll('#map path.region')]"
                ".map(p => [p.dataset.regionId, p.getAttribute('fill')]))"
            )
        )

    def labels(self) -> dict[str, str]:
        """What a screen reader says of every region path drawn on the map."""
        return dict(
            self.js(
                "return Object.fromEntries([...document.querySelectorAll('#map path.region')]"
                ".map(p => [p.dataset.regionId, p.getAttribute('aria-label')]))"
            )
        )

    def clickable(self, region_ids: list[str]) -> str:
        """The first region whose centre on screen is the region itself, not a legend."""
        found = self.js(
            """
            for (const id of arguments[0]) {
              const p = document.querySelector(`#map path.region[data-region-id="${id}"]`);
              const r = p.getBoundingClientRect();
              if (document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p) return id;
            }
            return null;
            """,
            region_ids,
        )
        assert found, "no region can be clicked at its centre"
        return str(found)

    def unseen_regions(self) -> list[str]:
        """Regions not wholly in the map's box, or whose box meets the legend's."""
        return list(
            self.js(
                """
                const map = document.querySelector('#map').getBoundingClientRect();
                const legend = document.querySelector('#legend').getBoundingClientRect();
                const meets = (r) => r.left < legend.right && legend.left < r.right
                  && r.top < legend.bottom && legend.top < r.bottom;
                const inside = (r) => r.left >= map.left - 0.5 && r.right <= map.right + 0.5
                  && r.top >= map.top - 0.5 && r.bottom <= map.bottom + 0.5;
                return [...document.querySelectorAll('#map path.region')]
                  .filter((p) => { const r = p.getBoundingClientRect(); return meets(r) || !inside(r); })
                  .map((p) => p.dataset.regionId);
                """
            )
        )

    def region_path(self, region_id: str) -> Any:
        return self.find(f'#map path.region[data-region-id="{region_id}"]')

    def shown_region(self) -> str | None:
        return self.js(
            "return document.querySelector('#region-details .region-view')?.dataset.regionId ?? null"
        )

    def click_region(self, region_id: str) -> str:
        """Click a region on the map; the text of its details."""
        self.region_path(region_id).click()
        self.until(lambda: self.shown_region() == region_id, f"the details of {region_id}")
        return self.text("#region-details")

    def shown_country(self) -> str | None:
        """The country whose totals the details show, once they are loaded."""
        return self.js(
            "const v = document.querySelector('#region-details .country-view');"
            "return v && v.dataset.loaded ? v.dataset.country : null"
        )

    def everything_said(self) -> str:
        """All the page's text, hidden parts too, and every attribute but path shapes."""
        return str(
            self.js(
                "const said = [document.documentElement.textContent];"
                "for (const el of document.querySelectorAll('*'))"
                "  for (const a of el.attributes) if (a.name !== 'd') said.push(a.value);"
                "return said.join('\\n')"
            )
        )

    def show_history(self) -> None:
        """Open the History tab and wait for its list to be fetched again."""
        listed = self.js("return document.querySelector('#history tbody').dataset.listed")
        self.find("#tab-history").click()
        self.until(
            lambda: (
                self.js("return document.querySelector('#history tbody').dataset.listed") != listed
            ),
            "the list of stored plans",
        )

    def console_errors(self, allowed: tuple[str, ...] = ()) -> list[str]:
        """Errors in the browser's console since the page was opened (CSP refusals too)."""
        return [
            e["message"]
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE" and not any(a in e["message"] for a in allowed)
        ]

    def foreign_resources(self) -> list[str]:
        """Everything the page loaded from another origin than the service's."""
        names = self.js("return performance.getEntriesByType('resource').map(e => e.name)")
        return [n for n in names if not n.startswith(self.service.url + "/")]

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))


@pytest.fixture
def page(browser: Any, live_service: LiveService) -> Page:
    """The page in the session's browser, at 1280×800."""
    tab = Page(browser, live_service)
    tab.viewport(1280, 800)
    return tab
