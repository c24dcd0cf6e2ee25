"""The Operations view of the map page, as planners of three countries meet it in Chromium.

The story runs on the three-country world of the service tests, ending last week, so that the
service can say what pledging to next week's operation is worth. MKD (country A) hosts in the
regions its agreement with GRC (B) opens to both; ALB (C) is party to nothing here. A
proposes over HTTP and pledges its own need; B's planner reads the proposal, its value and A's
pledge in the page and pledges there, which confirms it; the operation is then outlined and
named on B's map, and C's planner finds no trace of it. The other tests run on the default
world of the page's tests: a refusal's problems, analysts, a decline and a withdrawal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.database import next_period, utcnow
from crossplan.pipelines.simulate import last_full_week, simulate_world
from crossplan.serving.auth import Role
from tests.serving.test_operations_story import THREE, A, B, C
from tests.serving.web.conftest import LiveService, Page, add_agency_keys

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

THREE_KEYS = {
    f"{country.lower()}-planner": (Role.PLANNER, country, "Border Police") for country in (A, B, C)
}
THREE_REGIONS = ["r002", "r006"]  # GRC's and MKD's, opened to both by their agreement


@pytest.fixture(scope="module")
def three(
    service_home: Any,
    run_server: Any,
    stand_in_forecast: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveService]:
    """A real service of the three-country world ending last week, with a planner's key of
    each country's border police."""
    data = tmp_path_factory.mktemp("three-world")
    simulate_world(**THREE, end=last_full_week(date.today())).write(data)
    dataset = load_dataset(data)
    work = tmp_path_factory.mktemp("three-page")
    forecast = work / "forecast.parquet"
    stand_in_forecast(dataset).to_parquet(forecast)
    env, keys = service_home(work / "home", forecast=forecast)
    keys |= add_agency_keys(work / "home", THREE_KEYS)
    with run_server(env, data, work / "server.log") as server:
        yield LiveService(str(server.http.base_url).rstrip("/"), keys, dataset, server.http)


@pytest.fixture
def three_page(browser: Any, three: LiveService) -> Page:
    tab = Page(browser, three)
    tab.viewport(1280, 800)
    return tab


def _propose(service: Any, host: str, partner: str, regions: list[str]) -> tuple[str, str]:
    """``host``'s planner proposes next week's operation in ``regions`` to ``partner``, each
    to give 4 shifts, and pledges its border police's first unit for its own: its id and its
    week."""
    period = next_period("weekly", utcnow()).isoformat()
    body = {
        "regions": regions,
        "periods": [period],
        "needs": {host: {"shifts": 4}, partner: {"shifts": 4}},
        "effort_multiplier": 1.5,
    }
    key = service.bearer(f"{host.lower()}-planner")
    made = service.http.post("/operations", json=body, headers=key)
    assert made.status_code == 201, made.text
    operation = made.json()["operation_id"]
    mine = {"units": [{"unit_id": f"{host}-BP-01", "shifts": 4}]}
    pledged = service.http.post(f"/operations/{operation}/pledges", json=mine, headers=key)
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


def _shifts(card: Any, unit: str, value: int | None = None) -> str:
    """The shifts of ``unit`` in a card's pledge form (typed first when ``value`` is given)."""
    box = card.find_element("css selector", f'form.pledge input[data-unit-id="{unit}"]')
    if value is not None:
        box.clear()
        box.send_keys(str(value))
    return str(box.get_attribute("value"))


def test_b_pledges_in_the_page_and_the_operation_shows_confirmed_on_the_map(
    three_page: Any, artifacts: Path
) -> None:
    page = three_page
    service = page.service
    operation, period = _propose(service, A, B, THREE_REGIONS)

    _operations_view(page, "grc-planner")
    card = page.until(lambda: _card(page, "awaiting", operation), f"{operation} awaiting B")
    # its regions by name, its week, its deadline, each party's need and pledge so far
    names = service.dataset.regions.set_index("region_id")["name"]
    for region in THREE_REGIONS:
        assert f"{names[region]} ({region}," in card.text
    assert period in card.text and "Deadline" in card.text and "UTC" in card.text
    a_row = card.find_element("css selector", f'.parties tr[data-country="{A}"]')
    b_row = card.find_element("css selector", f'.parties tr[data-country="{B}"]')
    assert "pledged" in a_row.text and f"4 in {period}" in a_row.text
    assert "has not answered" in b_row.text and f"4 shifts in {period}" in b_row.text

    # what pledging is worth to B: with and without its pledge, the gain, advice, a pledge
    card.find_element("css selector", "button.compute").click()
    value = page.until(
        lambda: card.find_elements("css selector", ".value, .value-out .problems"),
        "the value of the operation to B",
        timeout=90,
    )[0]
    assert value.get_attribute("data-advice") in ("pledge", "decline"), value.text
    for said in ("With your pledge", "Without it", "Gain for your country", "Advice: "):
        assert said in value.text
    assert "expected interdictions over the operation's periods" in value.text
    assert f"GRC-BP-01: 4 in {period}" in value.text  # the suggested pledge: B's need
    page.screenshot(artifacts / "operations-value.png")
    value.find_element("css selector", "button.use").click()
    assert _shifts(card, "GRC-BP-01") == "4"

    # the pledge meets the last need: confirmed, in the schedule with the units pledged
    card.find_element("css selector", "form.pledge button[type=submit]").click()
    confirmed = page.until(lambda: _card(page, "confirmed", operation), f"{operation} confirmed")
    assert "No proposal awaits your answer." in page.text("#operations-awaiting")
    assert f"{operation}: pledged — now confirmed." in page.text("#operations-note")
    pledges = confirmed.find_element("css selector", ".pledges").text
    assert f"GRC-BP-01 (Border Police): 4 in {period}" in pledges  # B's own units in full
    assert f"{A}: 4 shifts in {period}" in pledges and "MKD-BP-01" not in pledges
    assert names["r006"] in confirmed.text

    # shown on the map: its regions outlined, labelled with its name
    confirmed.find_element("css selector", "button.show").click()
    label = page.until(lambda: page.find_all("#map .map-label"), "the operation's label")[0]
    assert label.text == f"Joint operation {operation}" and label.is_displayed()
    outlined = page.js(
        "return [...document.querySelectorAll('#map path.region.joint')]"
        ".map(p => p.dataset.regionId).sort()"
    )
    assert outlined == THREE_REGIONS
    assert page.unseen_regions() == []  # the narrower map fits the regions again
    assert f"Joint operation {operation}, shown" in page.text("#legend")
    page.screenshot(artifacts / "operations-view.png")
    assert page.foreign_resources() == []
    assert page.console_errors() == []

    # C's planner: no trace of it in any list, on the map, in its alerts
    _operations_view(page, "alb-planner")
    page.until(lambda: page.find_all("#operations-confirmed .empty"), "C's empty lists")
    assert "No proposal awaits your answer." in page.text("#operations-awaiting")
    assert "Your country proposed no operation." in page.text("#operations-mine")
    assert "No confirmed operation." in page.text("#operations-confirmed")
    assert operation not in page.everything_said()
    page.find("#tab-alerts").click()
    page.until(lambda: page.layer() == "alerts", "C's alerts")
    assert operation not in page.everything_said()
    assert page.console_errors() == []


def test_refusals_analysts_a_decline_and_a_withdrawal(page: Any) -> None:
    # the default world: BGR hosts in r006 (BGR) and r009 (MNE), opened to both
    service = page.service
    operation, _ = _propose(service, "BGR", "MNE", ["r006", "r009"])

    # MNE's analyst: the proposal and its parties, no form to answer it
    _operations_view(page, "mne-analyst", "regions")
    card = page.until(lambda: _card(page, "awaiting", operation), f"{operation} for the analyst")
    assert "has not answered" in card.text
    assert card.find_elements("css selector", "form") == []
    assert "Read only" in page.text("#operations-note")

    # MNE's planner pledges a unit that cannot reach the regions: the service's problem, by
    # unit, with its fix, and nothing pledged
    _operations_view(page, "mne-planner")
    card = page.until(lambda: _card(page, "awaiting", operation), f"{operation} awaiting MNE")
    _shifts(card, "MNE-BP-02", 4)
    card.find_element("css selector", "form.pledge button[type=submit]").click()
    problems = page.until(
        lambda: card.find_elements("css selector", "form.pledge .problems"), "the refusal"
    )[0]
    assert "MNE-BP-02: unit 'MNE-BP-02' may work none of the regions" in problems.text
    assert "Fix:" in problems.text
    assert _card(page, "awaiting", operation) is not None

    # it declines instead, saying why: the decline needs a reason
    decline = card.find_element("css selector", "form.decline")
    decline.find_element("css selector", "button").click()
    assert page.js("return arguments[0].querySelector('input').validity.valueMissing", decline)
    decline.find_element("css selector", "input").send_keys("our patrols are elsewhere")
    decline.find_element("css selector", "button").click()
    page.until(lambda: _card(page, "awaiting", operation) is None, "the decline")
    assert f"{operation}: declined" in page.text("#operations-note")

    # BGR's planner reads the decline with its reason among its proposals, and withdraws it
    _operations_view(page, "bgr-planner")
    mine = page.until(lambda: _card(page, "mine", operation), f"{operation} among BGR's")
    row = mine.find_element("css selector", '.parties tr[data-country="MNE"]')
    assert "declined: “our patrols are elsewhere”" in row.text
    # BGR pledged in full: it waits for the others; BGR may change its pledge, not decline
    answered = _card(page, "answered", operation)
    assert "Change your pledge" in answered.text
    assert answered.find_elements("css selector", "form.decline") == []
    assert _shifts(answered, "BGR-BP-01") == "4"  # its standing pledge
    withdraw = mine.find_element("css selector", "form.withdraw")
    withdraw.find_element("css selector", "input").send_keys("MNE cannot join")
    withdraw.find_element("css selector", "button").click()
    withdrawn = f'#operations-mine li[data-operation-id="{operation}"][data-status="withdrawn"]'
    page.until(lambda: page.find_all(withdrawn), "the withdrawal")  # one look: lists re-render
    assert _card(page, "mine", operation).find_elements("css selector", "form") == []
    assert _card(page, "answered", operation) is None
    assert page.console_errors(allowed=("/pledges - Failed to load resource",)) == []  # the 400


def test_a_reporter_has_no_operations_view(three_page: Any) -> None:
    page = three_page
    page.open()
    page.sign_in(page.service.keys["reporter"])
    page.until(lambda: page.find("#tab-submit").is_displayed(), "the reporter's tabs")
    assert not page.find("#tab-operations").is_displayed()
