"""The map page in a real browser: headless Chromium on a real service of the default world.

Every test looks at what is drawn (the regions' SVG paths and their fills, the legend, the
panels' text), not only at whether the page loads. The forecast and plan views are saved as
screenshots in the ``artifacts`` directory (``test-artifacts/web/``).
"""

from __future__ import annotations

import copy
import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

_WAIT = 30


def _until(driver: Any, check: Callable[[], Any], what: str, timeout: float = _WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            text = driver.execute_script("return document.body.innerText")[-1500:]
            pytest.fail(f"timed out waiting for {what}; the page says:\n{text}")
        time.sleep(0.05)


def _js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def _viewport(driver: Any, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def _open(driver: Any, service: Any, path: str = "/") -> None:
    """A fresh page: this tab's session (and so any key) forgotten."""
    driver.get(service.url + "/web/config.json")
    driver.execute_script("sessionStorage.clear()")
    driver.get_log("browser")  # start each test with an empty console
    driver.get(service.url + path)


def _sign_in(driver: Any, service: Any, key: str) -> None:
    from selenium.webdriver.common.by import By

    _until(
        driver,
        lambda: _js(driver, "return document.body.dataset.state") == "signed-out",
        "the sign-in form",
    )
    field = driver.find_element(By.ID, "key")
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()


def _signed_in(driver: Any, service: Any, role: str, layer: str) -> None:
    _open(driver, service)
    _sign_in(driver, service, service.keys[role])
    _until(driver, lambda: _layer(driver) == layer, f"the {layer} layer after signing in as {role}")


def _layer(driver: Any) -> str | None:
    return _js(driver, "return document.querySelector('#map')?.dataset.layer ?? null")


def _fills(driver: Any) -> dict[str, str]:
    """The fill colour of every region path drawn on the map."""
    return _js(
        driver,
        "return Object.fromEntries([...document.querySelectorAll('#map path.region')]"
        ".map(p => [p.dataset.regionId, p.getAttribute('fill')]))",
    )


def _clickable(driver: Any, region_ids: list[str]) -> str:
    """The first region whose centre on screen is the region itself (not a legend or a neighbour)."""
    found = _js(
        driver,
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


def _click_region(driver: Any, region_id: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'#map path.region[data-region-id="{region_id}"]').click()
    _until(
        driver,
        lambda: (
            _js(
                driver,
                "return document.querySelector('#region-details .region-view')?.dataset.regionId",
            )
            == region_id
        ),
        f"the details of {region_id}",
    )


def _details(driver: Any) -> str:
    return str(_js(driver, "return document.querySelector('#region-details').innerText"))


def _console_errors(driver: Any, allowed: tuple[str, ...] = ()) -> list[str]:
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and not any(a in e["message"] for a in allowed)
    ]


def _foreign_resources(driver: Any, service: Any) -> list[str]:
    names = _js(driver, "return performance.getEntriesByType('resource').map(e => e.name)")
    return [n for n in names if not n.startswith(service.url + "/")]


def _show_history(driver: Any) -> None:
    """Open the History tab and wait for its list to be fetched again."""
    listed = _js(driver, "return document.querySelector('#history tbody').dataset.listed")
    driver.find_element("id", "tab-history").click()
    _until(
        driver,
        lambda: (
            _js(driver, "return document.querySelector('#history tbody').dataset.listed") != listed
        ),
        "the list of stored plans",
    )


def test_a_wrong_key_gets_a_clear_message(browser: Any, live_service: Any) -> None:
    _open(browser, live_service)
    _sign_in(browser, live_service, "cpk_not-a-key")
    message = _until(
        browser,
        lambda: (
            text
            if "Checking" not in (text := browser.find_element("id", "sign-in-message").text)
            else ""
        ),
        "the sign-in message",
    )
    assert "not known to the service" in message
    assert _js(browser, "return document.querySelector('#app').hidden") is True
    assert _js(browser, "return sessionStorage.length") == 0
    assert "cpk_" not in browser.current_url
    assert _js(browser, "return document.cookie") == ""
    assert _console_errors(browser, allowed=("401",)) == []


def test_the_forecast_choropleth_draws_every_region_of_the_default_world(
    browser: Any, live_service: Any, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _viewport(browser, 1280, 800)
    _signed_in(browser, live_service, "planner", "forecast")
    regions = set(live_service.dataset.regions["region_id"])
    fills = _fills(browser)
    assert set(fills) == regions  # every region, once
    assert len(set(fills.values())) >= 5  # a choropleth, not one colour
    legend = browser.find_elements(By.CSS_SELECTOR, "#legend .swatch")
    assert len(legend) >= 5
    assert {s.get_attribute("data-colour") for s in legend} >= set(fills.values())
    assert "Expected incidents" in browser.find_element(By.ID, "legend").text
    # the key stays in this tab's session: not in the URL, not in a cookie
    assert (
        _js(browser, "return sessionStorage.getItem('crossplan.key')")
        == live_service.keys["planner"]
    )
    assert "cpk_" not in browser.current_url and _js(browser, "return document.cookie") == ""

    # The q90 statistic is larger than the mean everywhere: the legend's top class grows.
    top = browser.find_elements(By.CSS_SELECTOR, "#legend li")[-1].text
    Select(browser.find_element(By.ID, "f-stat")).select_by_value("q90")
    _until(
        browser,
        lambda: browser.find_elements(By.CSS_SELECTOR, "#legend li")[-1].text != top,
        "the q90 legend",
    )
    # The change since the last period is drawn on a diverging scale.
    Select(browser.find_element(By.ID, "f-stat")).select_by_value("change")
    periods = Select(browser.find_element(By.ID, "f-period"))
    periods.select_by_index(1)
    _until(
        browser,
        lambda: "since the last period" in browser.find_element(By.ID, "legend").text,
        "the change legend",
    )
    changed = _fills(browser)
    assert set(changed) == regions and changed != fills
    assert len(periods.options) == 4 and len(
        Select(browser.find_element(By.ID, "f-category")).options
    ) == len(live_service.dataset.categories)

    # First view: a new page with the key in the session and nothing cached, to the drawn
    # choropleth.
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    browser.get(live_service.url + "/")
    _until(browser, lambda: _layer(browser) == "forecast", "the forecast after a reload")
    first_view_ms = float(_js(browser, "return window.crossplanTimings.firstView"))
    (artifacts / "first-view-ms.txt").write_text(f"{first_view_ms:.0f}\n")
    assert first_view_ms < 2000
    assert _foreign_resources(browser, live_service) == []
    assert _console_errors(browser) == []


def test_clicking_a_region_shows_its_forecast_and_detection_rate(
    browser: Any, live_service: Any, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _viewport(browser, 1280, 800)
    _signed_in(browser, live_service, "planner", "forecast")
    region_id = _clickable(browser, sorted(_fills(browser)))
    _click_region(browser, region_id)
    name = live_service.dataset.regions.set_index("region_id").loc[region_id, "name"]
    text = _details(browser)
    assert name in text
    assert "Detection rate κ" in text and "0.05" in text
    # the chart: observed counts as dots, the forecast mean and its interval
    chart = browser.find_element(By.CSS_SELECTOR, "#region-details svg.chart")
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle.observed")) >= 6
    assert chart.find_elements(By.CSS_SELECTOR, "polyline.mean")
    assert chart.find_elements(By.CSS_SELECTOR, "polygon.interval")
    rows = browser.find_elements(By.CSS_SELECTOR, "#region-details table.numbers tbody tr")
    assert len(rows) == 4  # one per period ahead
    browser.save_screenshot(str(artifacts / "forecast-view.png"))
    assert _js(
        browser,
        f"return document.querySelector('path.region[data-region-id=\"{region_id}\"]').classList.contains('selected')",
    )

    # Keyboard: every region is a Tab stop that says what it is; Enter opens it.
    other = next(r for r in sorted(_fills(browser)) if r != region_id)
    path = browser.find_element(By.CSS_SELECTOR, f'#map path.region[data-region-id="{other}"]')
    assert path.get_attribute("tabindex") == "0" and path.get_attribute("role") == "button"
    assert "expected incidents" in path.get_attribute("aria-label")
    _js(browser, "arguments[0].focus()", path)
    path.send_keys(Keys.ENTER)
    _until(
        browser,
        lambda: (
            _js(
                browser,
                "return document.querySelector('#region-details .region-view').dataset.regionId",
            )
            == other
        ),
        "the region opened with Enter",
    )
    assert _console_errors(browser) == []


def test_a_plan_request_completes_colours_the_map_and_explains_a_region(
    browser: Any, live_service: Any, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By

    _viewport(browser, 1280, 800)
    _signed_in(browser, live_service, "planner", "forecast")
    browser.find_element(By.ID, "tab-plan").click()
    _until(browser, lambda: _layer(browser) == "regions", "the bare regions of the plan view")
    horizon = browser.find_element(By.ID, "p-horizon")
    horizon.clear()
    horizon.send_keys("2")
    _js(
        browser,
        "window.sawProgress = false; const p = document.querySelector('#plan-progress');"
        "new MutationObserver(() => { if (!p.hidden) window.sawProgress = p.innerText; })"
        ".observe(p, {attributes: true, subtree: true, childList: true});",
    )
    browser.find_element(By.ID, "p-submit").click()
    _until(browser, lambda: _layer(browser) == "plan", "the plan on the map", timeout=120)
    assert "Solving" in _js(browser, "return window.sawProgress")

    plan_id = live_service.http.get("/plans", headers=live_service.bearer("analyst")).json()[
        "plans"
    ][0]["plan_id"]
    plan = live_service.http.get(f"/plans/{plan_id}", headers=live_service.bearer("analyst")).json()
    assert len(plan["periods"]) == 2
    shifts: dict[str, int] = {}
    for row in plan["regions"]:
        shifts[row["region_id"]] = shifts.get(row["region_id"], 0) + row["shifts"]
    fills = _fills(browser)
    assert set(fills) == set(live_service.dataset.regions["region_id"])
    none = {fills[r] for r, n in shifts.items() if n == 0}
    some = {fills[r] for r, n in shifts.items() if n > 0}
    assert len(none) <= 1 and len(some) >= 3 and not none & some  # zero apart from the rest
    summary = browser.find_element(By.ID, "plan-summary").text
    assert f"{plan['objective']:,.1f}" in summary
    assert "Uniform" in summary and "proportional" in summary and "this plan +" in summary
    launched = [o for o in plan["joint_operations"] if o["launched"]]
    outlined = browser.find_elements(By.CSS_SELECTOR, "#map path.region.joint")
    assert bool(launched) == bool(outlined)
    for op in launched:
        assert op["operation_id"] in browser.find_element(By.ID, "plan-operations").text

    busiest = sorted((r for r in shifts if shifts[r] > 0), key=lambda r: -shifts[r])
    region_id = _clickable(browser, busiest)
    _click_region(browser, region_id)
    text = _details(browser)
    assert f"Shifts\t{shifts[region_id]}" in text
    assert "Value of one more shift" in text and "Expected interdictions" in text
    units = {
        a["unit_id"] for a in plan["assignments"] if a["region_id"] == region_id and a["shifts"] > 0
    }
    rows = browser.find_elements(By.CSS_SELECTOR, "#region-details table.assignments tbody tr")
    assert len(rows) == sum(
        1 for a in plan["assignments"] if a["region_id"] == region_id and a["shifts"] > 0
    )
    assert all(any(u in r.text for u in units) for r in rows)
    assert "What stops the plan sending more" in text
    limits = browser.find_elements(By.CSS_SELECTOR, "#region-details .limits code")
    assert {c.text for c in limits} <= set(plan["binding_constraints"])
    browser.save_screenshot(str(artifacts / "plan-view.png"))
    assert _console_errors(browser) == []


def test_an_analyst_reopens_stored_plans_and_downloads_one(
    browser: Any, live_service: Any, downloads: Path
) -> None:
    from selenium.webdriver.common.by import By

    http, planner = live_service.http, live_service.bearer("planner")
    made = http.post("/plan", json={"horizon": 1}, headers=planner)
    assert made.status_code == 200, made.text
    plan = made.json()
    resources: dict[str, Any] = copy.deepcopy(live_service.dataset.resources)
    resources["policy"]["min_shifts_per_region"] = 10_000
    refused = http.post("/plan", json={"horizon": 1, "resources": resources}, headers=planner)
    assert refused.status_code == 422
    infeasible_id = refused.json()["plan_id"]

    _viewport(browser, 1280, 800)
    _signed_in(browser, live_service, "analyst", "regions")
    # what the page offers follows the role: an analyst reads, and does not plan
    assert _js(browser, "return document.querySelector('#tab-forecast').hidden") is True
    assert _js(browser, "return document.querySelector('#plan-form').hidden") is True
    listed = [
        r.get_attribute("data-plan-id")
        for r in browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    ]
    assert listed[:2] == [infeasible_id, plan["plan_id"]]  # newest first

    # an infeasible plan: its diagnosis in words
    browser.find_element(By.CSS_SELECTOR, f'tr[data-plan-id="{infeasible_id}"] button.open').click()
    message = _until(
        browser, lambda: browser.find_element(By.ID, "plan-message").text, "the diagnosis"
    )
    assert "No plan meets every constraint" in message
    assert "short by" in message
    assert _layer(browser) == "regions"

    _show_history(browser)
    button = _until(
        browser,
        lambda: browser.find_elements(
            By.CSS_SELECTOR, f'tr[data-plan-id="{plan["plan_id"]}"] button.open'
        ),
        "the plan list",
    )
    button[0].click()
    _until(browser, lambda: _layer(browser) == "plan", "the stored plan on the map")
    assert f"{plan['objective']:,.1f}" in browser.find_element(By.ID, "plan-summary").text
    fills = _fills(browser)
    assert len(set(fills.values())) >= 3

    _show_history(browser)
    row = f'tr[data-plan-id="{plan["plan_id"]}"]'
    _until(
        browser,
        lambda: browser.find_elements(By.CSS_SELECTOR, f"{row} button.geojson"),
        "the plan list",
    )
    browser.find_element(By.CSS_SELECTOR, f"{row} button.geojson").click()
    browser.find_element(By.CSS_SELECTOR, f"{row} button.csv").click()
    geojson = downloads / f"plan-{plan['plan_id']}.geojson"
    table = downloads / f"plan-{plan['plan_id']}.csv"
    _until(browser, lambda: geojson.exists() and table.exists(), "the downloads")
    collection = json.loads(geojson.read_text())
    assert len(collection["features"]) == len(live_service.dataset.regions)
    assert collection["properties"]["plan_id"] == plan["plan_id"]
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(plan["regions"])
    assert sum(int(r["shifts"]) for r in rows) == sum(r["shifts"] for r in plan["regions"])
    assert _console_errors(browser) == []


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (768, 1024)])  # laptop, tablet
def test_the_page_fits_a_laptop_and_a_tablet(
    browser: Any, live_service: Any, artifacts: Path, width: int, height: int
) -> None:
    _viewport(browser, width, height)
    _signed_in(browser, live_service, "planner", "forecast")
    box = _js(
        browser,
        "const r = document.querySelector('#map').getBoundingClientRect();"
        "return {w: r.width, h: r.height, top: r.top,"
        " scroll: document.documentElement.scrollWidth, inner: innerWidth}",
    )
    assert box["scroll"] <= box["inner"]  # nothing sideways off the screen
    assert box["w"] >= 0.45 * width and box["h"] >= 400 and box["top"] < height
    for selector in ("#tab-forecast", "#f-period", "#legend"):
        visible = _js(
            browser,
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return r.width > 0 && r.height > 0 && r.right <= innerWidth",
            selector,
        )
        assert visible, selector
    browser.save_screenshot(str(artifacts / f"forecast-{width}x{height}.png"))


def test_the_api_manual_renders_from_local_files(browser: Any, live_service: Any) -> None:
    _viewport(browser, 1280, 800)
    _open(browser, live_service, "/docs")
    _until(
        browser,
        lambda: len(browser.find_elements("css selector", ".opblock")) >= 10,
        "the documented endpoints",
    )
    text = browser.find_element("css selector", "#swagger-ui").text
    assert "/plan" in text and "/forecast" in text
    assert browser.title == "crossplan — API manual"
    assert _foreign_resources(browser, live_service) == []
    assert _console_errors(browser) == []
