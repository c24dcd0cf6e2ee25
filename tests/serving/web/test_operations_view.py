"""The Operations view of the map page, as planners of three countries meet it in Chromium.

BGR (country A) hosts; MNE (B) is its partner, through the agreement that opens r006 (BGR)
and r009 (MNE) to both; SRB (C) is party to nothing. A proposes over HTTP and pledges its own
need; B's planner answers in the page — a pledge the service refuses, with its problems shown,
then one it takes, which confirms the operation — and C's planner finds no trace of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crossplan.pipelines.database import next_period, utcnow

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

A, B = "BGR", "MNE"
REGIONS = ["r006", "r009"]  # Raka (BGR), Venvosa (MNE)


def _propose(service: Any) -> tuple[str, str]:
    """A's planner proposes an operation to B and pledges its own need: its id and period."""
    period = next_period("weekly", utcnow()).isoformat()
    body = {
        "regions": REGIONS,
        "periods": [period],
        "needs": {A: {"shifts": 4}, B: {"shifts": 4}},
        "effort_multiplier": 1.5,
    }
    made = service.http.post("/operations", json=body, headers=service.bearer("bgr-planner"))
    assert made.status_code == 201, made.text
    operation = made.json()["operation_id"]
    mine = {"units": [{"unit_id": "BGR-BP-01", "shifts": 4}]}
    pledged = service.http.post(
        f"/operations/{operation}/pledges", json=mine, headers=service.bearer("bgr-planner")
    )
    assert pledged.status_code == 200 and pledged.json()["status"] == "open", pledged.text
    return operation, period


def _operations_view(page: Any, key: str, first: str = "forecast") -> None:
    """Sign in with ``key``, wait for its ``first`` view, open the Operations tab."""
    page.signed_in(key, first)
    page.find("#tab-operations").click()
    page.until(lambda: page.layer() == "operations", "the operations on the map")


def _card(page: Any, lst: str, operation: str) -> Any:
    found = page.find_all(f'#operations-{lst} li[data-operation-id="{operation}"]')
    return found[0] if found else None


def _shifts(page: Any, card: Any, unit: str, value: int) -> None:
    box = card.find_element("css selector", f'input[data-unit-id="{unit}"]')
    box.clear()
    box.send_keys(str(value))


def test_b_pledges_in_the_page_and_the_operation_shows_confirmed_on_the_map(
    page: Any, artifacts: Path
) -> None:
    service = page.service
    operation, period = _propose(service)

    _operations_view(page, "mne-planner")
    card = page.until(lambda: _card(page, "awaiting", operation), f"{operation} awaiting B")
    text = card.text
    # its regions by name, its period, its deadline, each party's need and pledges so far
    names = service.dataset.regions.set_index("region_id")["name"]
    for region in REGIONS:
        assert f"{names[region]} ({region}," in text
    assert period in text and "Deadline" in text and "UTC" in text
    a_row = card.find_element("css selector", f'.parties tr[data-country="{A}"]')
    b_row = card.find_element("css selector", f'.parties tr[data-country="{B}"]')
    assert "pledged" in a_row.text and f"4 in {period}" in a_row.text
    assert "has not answered" in b_row.text and f"4 shifts in {period}" in b_row.text
    assert "Compute value" in text and "Why your country declines" in text

    # a unit that cannot reach the regions: the service's problem, by unit, with its fix
    _shifts(page, card, "MNE-BP-02", 4)
    card.find_element("css selector", "form.pledge button[type=submit]").click()
    problems = page.until(
        lambda: card.find_elements("css selector", "form.pledge .problems"), "the refusal"
    )[0]
    assert "MNE-BP-02" in problems.text and "may work none of the regions" in problems.text
    assert "Fix:" in problems.text
    assert _card(page, "awaiting", operation) is not None  # nothing was pledged

    # a unit that can: the pledge meets the last need and confirms the operation
    _shifts(page, card, "MNE-BP-02", 0)
    _shifts(page, card, "MNE-BP-01", 4)
    card.find_element("css selector", "form.pledge button[type=submit]").click()
    confirmed = page.until(lambda: _card(page, "confirmed", operation), f"{operation} confirmed")
    assert "No proposal awaits your answer." in page.text("#operations-awaiting")
    assert f"{operation}: pledged — now confirmed." in page.text("#operations-note")
    assert confirmed.get_attribute("data-status") == "confirmed"
    pledges = confirmed.find_element("css selector", ".pledges").text
    assert f"MNE-BP-01 (Border Police): 4 in {period}" in pledges  # B's own units in full
    assert f"{A}: 4 shifts in {period}" in pledges and "BGR-BP-01" not in pledges
    assert names["r006"] in confirmed.text

    # shown on the map: its regions outlined, labelled with its name
    confirmed.find_element("css selector", "button.show").click()
    label = page.until(lambda: page.find_all("#map .map-label"), "the operation's label")[0]
    assert label.text == f"Joint operation {operation}" and label.is_displayed()
    outlined = page.js(
        "return [...document.querySelectorAll('#map path.region.joint')]"
        ".map(p => p.dataset.regionId).sort()"
    )
    assert outlined == REGIONS
    assert f"Joint operation {operation}, shown" in page.text("#legend")
    page.screenshot(artifacts / "operations-view.png")
    assert page.foreign_resources() == []
    assert page.console_errors(allowed=("/pledges - Failed to load resource",)) == []  # the 400

    # C's planner: no trace of it in any list, on the map, in its alerts
    _operations_view(page, "srb-planner")
    page.until(lambda: page.find_all("#operations-confirmed .empty"), "C's empty lists")
    assert "No proposal awaits your answer." in page.text("#operations-awaiting")
    assert "Your country proposed no operation." in page.text("#operations-mine")
    assert "No confirmed operation." in page.text("#operations-confirmed")
    assert operation not in page.everything_said()
    page.find("#tab-alerts").click()
    page.until(lambda: page.layer() == "alerts", "C's alerts")
    assert operation not in page.everything_said()
    assert page.console_errors() == []


def test_analysts_read_the_lists_planners_decline_and_the_host_withdraws(page: Any) -> None:
    service = page.service
    operation, _ = _propose(service)

    # B's analyst: the proposal and its parties, no form to answer it
    _operations_view(page, "mne-analyst", "regions")
    card = page.until(lambda: _card(page, "awaiting", operation), f"{operation} for B's analyst")
    assert "has not answered" in card.text
    assert card.find_elements("css selector", "form") == []
    assert "Read only" in page.text("#operations-note")

    # B's planner declines, saying why; the decline needs a reason
    _operations_view(page, "mne-planner")
    card = page.until(lambda: _card(page, "awaiting", operation), f"{operation} awaiting B")
    decline = card.find_element("css selector", "form.decline")
    decline.find_element("css selector", "button").click()
    assert page.js("return arguments[0].querySelector('input').validity.valueMissing", decline)
    decline.find_element("css selector", "input").send_keys("our patrols are elsewhere")
    decline.find_element("css selector", "button").click()
    page.until(lambda: _card(page, "awaiting", operation) is None, "the decline")
    assert f"{operation}: declined" in page.text("#operations-note")

    # A's planner reads the decline with its reason among its proposals, and withdraws it
    _operations_view(page, "bgr-planner")
    mine = page.until(lambda: _card(page, "mine", operation), f"{operation} among A's proposals")
    row = mine.find_element("css selector", f'.parties tr[data-country="{B}"]')
    assert "declined: “our patrols are elsewhere”" in row.text
    # A pledged in full: it waits for the others, and A may change its pledge, not decline
    answered = _card(page, "answered", operation)
    assert "Change your pledge" in answered.text
    assert answered.find_elements("css selector", "form.decline") == []
    box = answered.find_element("css selector", 'input[data-unit-id="BGR-BP-01"]')
    assert box.get_attribute("value") == "4"  # its standing pledge
    withdraw = mine.find_element("css selector", "form.withdraw")
    withdraw.find_element("css selector", "input").send_keys("MNE cannot join")
    withdraw.find_element("css selector", "button").click()
    page.until(
        lambda: (
            (c := _card(page, "mine", operation)) and c.get_attribute("data-status") == "withdrawn"
        ),
        "the withdrawal",
    )
    assert _card(page, "mine", operation).find_elements("css selector", "form") == []
    assert _card(page, "answered", operation) is None
    assert page.console_errors() == []


def test_a_reporter_has_no_operations_view(page: Any) -> None:
    page.open()
    page.sign_in(page.service.keys["grc-reporter"])
    page.until(lambda: page.find("#tab-submit").is_displayed(), "the reporter's tabs")
    assert not page.find("#tab-operations").is_displayed()
