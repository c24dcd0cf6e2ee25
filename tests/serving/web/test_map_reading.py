"""The map reads at a glance: borders, names, a legend that covers nothing, words for what is
missing, and a horizon the served model forecasts — for a planner, a partner's analyst and a
reporter, each saved as a screenshot in ``test-artifacts/web/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

# Empty the answer of GET /alerts before the page reads it.
_NO_ALERTS = """
const real = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const response = await real(input, init);
  const path = new URL(typeof input === "string" ? input : input.url, location.href).pathname;
  if (path !== "/alerts" || !response.ok) return response;
  return new Response(JSON.stringify({ alerts: [] }), { status: 200, headers: response.headers });
};
"""


def _assert_context(page: Any) -> None:
    """Country borders above the fills, the regions' names, and a legend off the regions."""
    dataset = page.service.dataset
    borders = page.js(
        "return [...document.querySelectorAll('#map .leaflet-borders-pane path.country-border')]"
        ".map((p) => p.dataset.country)"
    )
    assert sorted(borders) == sorted(dataset.regions["country"].unique())  # one path each
    names = dict(
        page.js(
            "return [...document.querySelectorAll('#map .region-name')]"
            ".map((t) => [t.dataset.regionId, t.textContent])"
        )
    )
    assert names == dict(zip(dataset.regions["region_id"], dataset.regions["name"], strict=True))
    assert int(page.js("return document.querySelector('#map').dataset.names")) >= 10  # readable
    assert page.unseen_regions() == []  # all in view, none under the legend
    assert "border between countries" in page.text("#legend")


def test_a_planner_reads_borders_names_and_the_models_horizon(page: Any, artifacts: Path) -> None:
    service = page.service
    page.signed_in("planner", "forecast")
    _assert_context(page)
    page.screenshot(artifacts / "map-planner.png")

    most = service.http.get("/model", headers=service.bearer("planner")).json()["horizon"]
    page.find("#tab-plan").click()
    horizon = page.find("#p-horizon")
    assert horizon.get_attribute("max") == str(most)
    assert f"1 to {most}" in page.text("#p-horizon-help")
    horizon.clear()
    horizon.send_keys(str(most + 8))
    listed = len(service.http.get("/plans", headers=service.bearer("analyst")).json()["plans"])
    page.find("#p-submit").click()
    said = page.until(lambda: page.text("#plan-message"), "the refusal of the horizon")
    assert f"at most {most} periods ahead: choose a horizon from 1 to {most}" in said
    assert len(service.http.get("/plans", headers=service.bearer("analyst")).json()["plans"]) == (
        listed
    )  # nothing asked of the service
    assert page.console_errors() == []


def test_a_partner_analyst_reads_shifts_that_add_up_and_dashes_that_say_why(
    page: Any, grc: dict[str, Any], artifacts: Path
) -> None:
    service = page.service
    made = service.http.post("/plan", json={"horizon": 1}, headers=service.bearer("planner"))
    assert made.status_code == 200, made.text
    plan_id = made.json()["plan_id"]
    plan = service.http.get(f"/plans/{plan_id}", headers=service.bearer("grc-analyst")).json()
    shifts: dict[str, int] = {}
    for row in plan["regions"]:
        shifts[row["region_id"]] = shifts.get(row["region_id"], 0) + row["shifts"]
    listed: dict[str, int] = {}
    for a in plan["assignments"]:
        listed[a["region_id"]] = listed.get(a["region_id"], 0) + a["shifts"]
    # a region whose shifts are not all GRC's units' (the figure the list must explain)
    mixed = [r for r in grc["shown"] if shifts.get(r, 0) > listed.get(r, 0)]
    assert mixed, "no region of GRC's where other countries' units work"

    page.signed_in("grc-analyst", "regions")
    _assert_context(page)
    page.find(f'tr[data-plan-id="{plan_id}"] button.open').click()
    page.until(lambda: page.layer() == "plan", "the partner's plan on the map")
    region = page.clickable(sorted(mixed, key=lambda r: -shifts[r]))
    text = page.click_region(region)
    assert re.search(rf"^Shifts\s+{shifts[region]}$", text, re.MULTILINE)
    cells = page.js(
        "return [...document.querySelectorAll('#region-details table.assignments tbody tr')]"
        ".map((r) => Number(r.cells[2].textContent))"
    )
    assert sum(cells) == shifts[region]  # the list adds up to the figure
    assert "Other countries' units (not shared)" in text
    # every dash says why, on the region and in the summary
    for where in ("#region-details", "#plan-summary"):
        dashes = page.js(  # (a range "1–2" is no dash; the note that explains them is words)
            "return [...document.querySelectorAll(arguments[0] + ' *')].filter((e) =>"
            " !e.closest('.withheld-figures') && [...e.childNodes].some((n) => n.nodeType === 3"
            " && n.textContent.includes('–') && !/\\d–\\d/.test(n.textContent)))"
            ".map((e) => e.getAttribute('title') || '')",
            where,
        )
        assert dashes and all("not shared" in t for t in dashes), (where, dashes)
    # joint operations: outlined only where shifts go, and named by region name
    joint = {p.get_attribute("data-region-id") for p in page.find_all("#map path.region.joint")}
    assert all(shifts.get(r, 0) > 0 for r in joint)
    assert not re.search(r"\br\d{3}\b", page.text("#plan-operations"))
    page.screenshot(artifacts / "map-partner-analyst.png")
    assert page.console_errors() == []


def test_a_reporter_reads_the_map_and_an_empty_alert_list_in_words(
    page: Any, artifacts: Path
) -> None:
    script = page.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": _NO_ALERTS}
    )
    try:
        page.open()
        page.sign_in(page.service.keys["grc-reporter"])
        page.until(lambda: page.js("return document.body.dataset.view") == "submit", "the upload")
        _assert_context(page)
        page.screenshot(artifacts / "map-reporter.png")
        page.find("#tab-alerts").click()
        page.until(lambda: page.layer() == "alerts", "the alerts on the map")
    finally:
        page.driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )
    assert page.js("return document.querySelector('#alerts').hidden") is True
    assert page.find_all("#alerts li") == []  # no list of one "no alert" item
    assert page.text("#alerts-empty") == "No alert on the regions this key reads region by region."
    legend = page.text("#legend")
    assert "No alert" in legend and not re.search(r"\b[01] alerts\b", legend)
    assert page.console_errors() == []
