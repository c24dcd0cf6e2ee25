"""The map page in a real browser: headless Chromium on a real service of the default world.

Every test looks at what is drawn (the regions' SVG paths and their fills, the legend, the
panels' text), not only at whether the page loads; :class:`conftest.Page` reads them. The
forecast and plan views are saved as screenshots in ``test-artifacts/web/``.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_a_wrong_key_gets_a_clear_message(page: Any) -> None:
    page.open()
    page.sign_in("cpk_not-a-key")
    message = page.until(
        lambda: "Checking" not in (text := page.text("#sign-in-message")) and text,
        "the sign-in message",
    )
    assert "not known to the service" in message
    assert page.js("return document.querySelector('#app').hidden") is True
    assert page.js("return sessionStorage.length") == 0  # nothing kept
    assert "cpk_" not in page.driver.current_url
    assert page.js("return document.cookie") == ""
    assert page.console_errors(allowed=("401",)) == []  # the refused /me, nothing else


def test_the_forecast_choropleth_draws_every_region_of_the_default_world(
    page: Any, artifacts: Path
) -> None:
    from selenium.webdriver.support.ui import Select

    page.signed_in("planner", "forecast")
    service = page.service
    regions = set(service.dataset.regions["region_id"])
    fills = page.fills()
    assert set(fills) == regions  # every region, once
    assert len(set(fills.values())) >= 5  # a choropleth, not one colour
    swatches = page.find_all("#legend .swatch")
    assert len(swatches) >= 5
    assert {s.get_attribute("data-colour") for s in swatches} >= set(fills.values())
    assert "Expected incidents" in page.text("#legend")
    # the key stays in this tab's session: not in the URL, not in a cookie
    assert page.js("return sessionStorage.getItem('crossplan.key')") == service.keys["planner"]
    assert "cpk_" not in page.driver.current_url
    assert page.js("return document.cookie") == ""

    # q90 is above the mean everywhere: the legend's top class moves up
    top = page.find_all("#legend li")[-1].text
    Select(page.find("#f-stat")).select_by_value("q90")
    page.until(lambda: page.find_all("#legend li")[-1].text != top, "the q90 legend")
    # the change since the last period, on a diverging scale
    Select(page.find("#f-stat")).select_by_value("change")
    periods = Select(page.find("#f-period"))
    periods.select_by_index(1)
    page.until(lambda: "since the last period" in page.text("#legend"), "the change legend")
    changed = page.fills()
    assert set(changed) == regions and changed != fills
    assert len(periods.options) == 4
    categories = Select(page.find("#f-category")).options
    assert len(categories) == len(service.dataset.categories)

    # First view: a new page, nothing cached, the key in the session, to the drawn map.
    page.driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    page.driver.get(service.url + "/")
    page.until(lambda: page.layer() == "forecast", "the forecast after a reload")
    first_view_ms = float(page.js("return window.crossplanTimings.firstView"))
    (artifacts / "first-view-ms.txt").write_text(f"{first_view_ms:.0f}\n")
    assert first_view_ms < 2000
    assert page.foreign_resources() == []
    assert page.console_errors() == []


def test_clicking_a_region_shows_its_forecast_and_detection_rate(
    page: Any, artifacts: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    page.signed_in("planner", "forecast")
    region_id = page.clickable(sorted(page.fills()))
    text = page.click_region(region_id)
    assert page.service.dataset.regions.set_index("region_id").loc[region_id, "name"] in text
    assert "Detection rate κ" in text and "0.05" in text
    # the chart: observed counts as dots, then the forecast mean and its interval
    assert len(page.find_all("#region-details svg.chart circle.observed")) >= 6
    assert page.find_all("#region-details svg.chart polyline.mean")
    assert page.find_all("#region-details svg.chart polygon.interval")
    assert len(page.find_all("#region-details table.numbers tbody tr")) == 4  # periods ahead
    assert "selected" in page.region_path(region_id).get_attribute("class")
    page.screenshot(artifacts / "forecast-view.png")

    # Keyboard: every region is a Tab stop that says what it is; Enter opens it.
    other = next(r for r in sorted(page.fills()) if r != region_id)
    path = page.region_path(other)
    assert path.get_attribute("tabindex") == "0" and path.get_attribute("role") == "button"
    assert "expected incidents" in path.get_attribute("aria-label")
    page.js("arguments[0].focus()", path)
    path.send_keys(Keys.ENTER)
    page.until(lambda: page.shown_region() == other, "the region opened with Enter")
    assert page.console_errors() == []


def test_a_plan_request_completes_colours_the_map_and_explains_a_region(
    page: Any, artifacts: Path
) -> None:
    service = page.service
    page.signed_in("planner", "forecast")
    page.find("#tab-plan").click()
    page.until(lambda: page.layer() == "regions", "the bare regions of the plan view")
    horizon = page.find("#p-horizon")
    horizon.clear()
    horizon.send_keys("2")
    page.js(
        "window.sawProgress = ''; const p = document.querySelector('#plan-progress');"
        "new MutationObserver(() => { if (!p.hidden) window.sawProgress = p.innerText; })"
        ".observe(p, {attributes: true, subtree: true, childList: true});"
    )
    page.find("#p-submit").click()
    page.until(lambda: page.layer() == "plan", "the plan on the map", timeout=120)
    assert "Solving" in page.js("return window.sawProgress")  # progress showed while solving

    analyst = service.bearer("analyst")
    plan_id = service.http.get("/plans", headers=analyst).json()["plans"][0]["plan_id"]
    plan = service.http.get(f"/plans/{plan_id}", headers=analyst).json()
    assert len(plan["periods"]) == 2
    shifts: dict[str, int] = {}
    for row in plan["regions"]:
        shifts[row["region_id"]] = shifts.get(row["region_id"], 0) + row["shifts"]
    fills = page.fills()
    assert set(fills) == set(service.dataset.regions["region_id"])
    none = {fills[r] for r, n in shifts.items() if n == 0}
    some = {fills[r] for r, n in shifts.items() if n > 0}
    assert len(none) <= 1 and len(some) >= 3 and not none & some  # zero apart from the rest
    summary = page.text("#plan-summary")
    assert f"{plan['objective']:,.1f}" in summary
    assert "Uniform" in summary and "proportional" in summary and "this plan +" in summary
    assert "central proposal, binding on no agency" in summary  # the operator's plan
    launched = [o for o in plan["joint_operations"] if any(s["launched"] for s in o["periods"])]
    assert bool(launched) == bool(page.find_all("#map path.region.joint"))
    for op in launched:
        assert op["operation_id"] in page.text("#plan-operations")
    for op in plan["joint_operations"]:
        for state in op["periods"]:
            if not state["launched"]:  # each says why
                assert state["reason"] in page.text("#plan-operations")

    busiest = sorted((r for r in shifts if shifts[r] > 0), key=lambda r: -shifts[r])
    region_id = page.clickable(busiest)
    text = page.click_region(region_id)
    assert re.search(rf"^Shifts\s+{shifts[region_id]}$", text, re.MULTILINE)
    assert "Value of one more shift" in text and "Expected interdictions" in text
    working = [a for a in plan["assignments"] if a["region_id"] == region_id and a["shifts"] > 0]
    rows = page.find_all("#region-details table.assignments tbody tr")
    assert len(rows) == len(working)
    assert all(any(a["unit_id"] in r.text for a in working) for r in rows)
    assert "What stops the plan sending more" in text
    limits = {c.text for c in page.find_all("#region-details .limits code")}
    assert limits and limits <= set(plan["binding_constraints"])
    page.screenshot(artifacts / "plan-view.png")
    assert page.console_errors() == []


def test_an_analyst_reopens_stored_plans_and_downloads_one(
    page: Any, downloads: Path, artifacts: Path
) -> None:
    service = page.service
    planner = service.bearer("planner")
    made = service.http.post("/plan", json={"horizon": 1}, headers=planner)
    assert made.status_code == 200, made.text
    plan = made.json()
    assert service.dataset.resources is not None
    resources: dict[str, Any] = service.dataset.resources.model_dump(mode="json")
    resources["policy"]["min_shifts_per_region"] = 10_000
    refused = service.http.post(
        "/plan", json={"horizon": 1, "resources": resources}, headers=planner
    )
    assert refused.status_code == 422
    infeasible_id = refused.json()["plan_id"]

    page.signed_in("analyst", "regions")
    # what the page offers follows the role: an analyst reads, and does not plan
    assert page.js("return document.querySelector('#tab-forecast').hidden") is True
    assert page.js("return document.querySelector('#plan-form').hidden") is True
    page.screenshot(artifacts / "history.png")
    listed = [r.get_attribute("data-plan-id") for r in page.find_all("#history tbody tr")]
    assert listed[:2] == [infeasible_id, plan["plan_id"]]  # newest first

    # an infeasible plan: its diagnosis, in words
    page.find(f'tr[data-plan-id="{infeasible_id}"] button.open').click()
    message = page.until(lambda: page.text("#plan-message"), "the diagnosis")
    assert "No plan meets every constraint" in message and "short by" in message
    assert page.layer() == "regions"
    page.screenshot(artifacts / "infeasible-plan.png")

    row = f'tr[data-plan-id="{plan["plan_id"]}"]'
    page.show_history()
    page.find(f"{row} button.open").click()
    page.until(lambda: page.layer() == "plan", "the stored plan on the map")
    assert f"{plan['objective']:,.1f}" in page.text("#plan-summary")
    assert len(set(page.fills().values())) >= 3

    page.show_history()
    page.find(f"{row} button.geojson").click()
    page.find(f"{row} button.csv").click()
    geojson = downloads / f"plan-{plan['plan_id']}.geojson"
    table = downloads / f"plan-{plan['plan_id']}.csv"
    page.until(lambda: geojson.exists() and table.exists(), "the downloads")
    collection = json.loads(geojson.read_text())
    assert len(collection["features"]) == len(service.dataset.regions)
    assert collection["properties"]["plan_id"] == plan["plan_id"]
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(plan["regions"])
    assert sum(int(r["shifts"]) for r in rows) == sum(r["shifts"] for r in plan["regions"])
    assert page.console_errors() == []


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (768, 1024)])  # laptop, tablet
def test_the_page_fits_a_laptop_and_a_tablet(
    page: Any, artifacts: Path, width: int, height: int
) -> None:
    page.viewport(width, height)
    page.signed_in("planner", "forecast")
    box = page.js(
        "const r = document.querySelector('#map').getBoundingClientRect();"
        "return {w: r.width, h: r.height, top: r.top,"
        " scroll: document.documentElement.scrollWidth, inner: innerWidth}"
    )
    assert box["scroll"] <= box["inner"]  # nothing sideways off the screen
    assert box["w"] >= 0.45 * width and box["h"] >= 400 and box["top"] < height
    for selector in ("#tab-forecast", "#f-period", "#legend"):
        visible = page.js(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return r.width > 0 && r.height > 0 && r.right <= innerWidth",
            selector,
        )
        assert visible, selector
    page.screenshot(artifacts / f"forecast-{width}x{height}.png")


def test_the_api_manual_renders_from_local_files(page: Any) -> None:
    page.open("/docs")
    page.until(lambda: len(page.find_all(".opblock")) >= 10, "the documented endpoints")
    text = page.text("#swagger-ui")
    assert "/plan" in text and "/forecast" in text
    assert page.driver.title == "crossplan — API manual"
    # grouped by resource, with no empty group; each operation with its roles' badge
    groups = page.js(
        "return [...document.querySelectorAll('.opblock-tag')].map(t => t.dataset.tag)"
    )
    assert groups[:4] == ["plans", "forecasts", "operations", "submissions"]
    assert "Service APIs" not in groups and "default" not in groups
    badges = page.js(
        "return Object.fromEntries([...document.querySelectorAll('.opblock')].map(o => ["
        "o.querySelector('.opblock-summary-method').textContent + ' ' + "
        "o.querySelector('.opblock-summary-path').dataset.path,"
        "o.querySelector('.role-badge').textContent]))"
    )
    assert badges["POST /plan"] == "planner · admin"
    assert badges["POST /submissions"] == "reporter · admin"
    assert badges["GET /metrics"] == "admin"  # not "no key", as the manual once said
    assert badges["GET /healthz"] == "no key"
    assert len(badges) == len(page.find_all(".opblock"))  # every operation has one
    # Examples of joint operations come with a key, drawn from that key's own view.
    pledges = ["paths", "/operations/{operation_id}/pledges", "post", "requestBody", "content",
               "application/json", "examples"]  # fmt: skip
    read = "const s = window.ui.specSelectors.specJson().getIn(arguments[0]); return s && s.toJS()"
    assert page.js(read, pledges) is None
    page.find(".btn.authorize").click()
    page.until(lambda: page.find_all(".auth-container input"), "the key's field")
    page.find(".auth-container input").send_keys(page.service.keys["grc-planner"])
    page.find(".auth-btn-wrapper .authorize").click()
    page.find(".auth-btn-wrapper .btn-done").click()
    found = page.until(lambda: page.js(read, pledges), "the examples drawn for the key")
    (unit,) = [u["unit_id"] for e in found.values() for u in e["value"]["units"]]
    assert unit.startswith("GRC")  # one of its own units, never a partner's
    page.find("#operations-operations-pledge_units_operations__operation_id__pledges_post").click()
    page.until(lambda: unit in page.text("#swagger-ui"), "the pledge example on the page")
    assert page.foreign_resources() == []
    assert page.console_errors() == []
