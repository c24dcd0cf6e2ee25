"""A plan's taskings and the comparison of two plans on the map page, in headless Chromium:
the plan view's "Print taskings" opens the service's printable page (one section per unit,
each after the first on a new page when printed) and "Tasking (CSV)" downloads the rows; the
History tab says what moved between two plans."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _plans(service: Any) -> tuple[str, str]:
    """Two plans of the operator: the served resources, then with the first unit cut to 2
    shifts a period (the newer)."""
    planner = service.bearer("planner")
    first = service.http.post("/plan", json={"horizon": 1}, headers=planner)
    assert first.status_code == 200, first.text
    resources = service.http.get("/resources", headers=planner).json()
    cut = json.loads(json.dumps(resources))
    cut["units"][0]["shifts_per_period"] = 2
    second = service.http.post("/plan", json={"horizon": 1, "resources": cut}, headers=planner)
    assert second.status_code == 200, second.text
    return first.json()["plan_id"], second.json()["plan_id"]


def test_the_plan_view_prints_and_downloads_its_taskings_and_history_compares_two_plans(
    page: Any, downloads: Path, artifacts: Path
) -> None:
    service = page.service
    older, newer = _plans(service)
    served = service.http.get(f"/plans/{older}/tasking.csv", headers=service.bearer("planner"))
    assert served.status_code == 200, served.text
    units = list(dict.fromkeys(r["unit_id"] for r in csv.DictReader(io.StringIO(served.text))))
    assert len(units) >= 2

    page.signed_in("planner", "forecast")
    page.show_history()
    page.find(f'tr[data-plan-id="{older}"] button.open').click()
    page.until(lambda: page.layer() == "plan", "the stored plan on the map")
    assert page.js("return document.querySelector('#plan-links').hidden") is False

    # Print taskings: the service's page in a window of its own
    main = page.driver.current_window_handle
    page.find("#p-tasking-print").click()
    page.until(lambda: len(page.driver.window_handles) == 2, "the print window")
    page.driver.switch_to.window(next(h for h in page.driver.window_handles if h != main))
    try:
        page.until(lambda: page.js("return document.body?.dataset.ready") == "true", "the page")
        sections = page.js(
            "return [...document.querySelectorAll('section.unit')].map(s => s.dataset.unitId)"
        )
        assert sections == units  # one section per unit, in order
        assert older in page.text(".tasking-header")
        # the print rules: each unit after the first starts a new page
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        breaks = page.js(
            "return [...document.querySelectorAll('section.unit')]"
            ".map(s => getComputedStyle(s).breakBefore)"
        )
        assert breaks[0] != "page" and set(breaks[1:]) == {"page"}
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        rules = page.js(
            "return [...document.styleSheets].flatMap(s => [...s.cssRules])"
            ".filter(r => r.media && r.media.mediaText === 'print').length"
        )
        assert rules >= 1
        assert page.foreign_resources() == []
        page.screenshot(artifacts / "tasking-print.png")
    finally:
        page.driver.close()
        page.driver.switch_to.window(main)

    # Tasking (CSV): the service's rows, downloaded
    page.find("#p-tasking-csv").click()
    table = downloads / f"tasking-{older[:8]}.csv"
    page.until(table.exists, "the tasking download")
    page.until(lambda: table.read_text() == served.text, "the whole tasking file")

    # History: what moved from the older plan to the newer one
    page.show_history()
    assert page.js("return document.querySelector('#compare-form').hidden") is False
    page.js(
        "document.querySelector('#c-a').value = arguments[0];"
        "document.querySelector('#c-b').value = arguments[1];",
        older,
        newer,
    )
    page.find("#c-submit").click()
    said = page.until(lambda: page.text("#compare-result"), "the comparison")
    diff = service.http.get(
        "/plans/diff", params={"a": older, "b": newer}, headers=service.bearer("planner")
    ).json()
    assert not diff["empty"] and "Shifts that moved" in said
    assert all(c["unit_id"] in said for c in diff["shifts"])
    assert page.console_errors() == []
