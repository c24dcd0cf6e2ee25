"""The page under the sharing rules, in a real browser on the shared live service.

A key of GRC reads GRC's regions and those of its agreements region by region; every other
region is drawn at country level and opens on its country's latest total. Responses are
doctored in the browser (a wrapper around ``fetch``, installed before the page's own code) to
hold per-region numbers of such regions: the page must not show them — the service's rules
are checked again on the page. A reporter uploads files and reads the receipt or every
problem; every key lists its alerts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

MAGIC = 424242  # a count no real response holds: it must show nowhere on the page
CATEGORY = "smuggling_of_migrants"

# Adds rows of region `hidden` (read at country level) to what the service answers, and an
# alert with a withheld value on region `shown`.
_DOCTOR = """
(() => {
  const c = %s;
  const row = (extra) => ({ region_id: c.hidden, category: c.category, ...extra });
  const doctors = [
    [/^\\/plans\\/[^/]+$/, (b) => {
      const period = b.periods[0];
      const n = c.magic + 0.5;
      b.regions.push(row({ period, shifts: c.magic, effort: n, expected_activity: n,
                           expected_interdictions: n, marginal_value: n }));
      b.assignments.push({ unit_id: c.unit, period, region_id: c.hidden, shifts: c.magic });
      b.binding_constraints.push(`floor[${c.hidden},${period}]`);
    }],
    [/^\\/alerts$/, (b) => {
      b.alerts.unshift(
        { id: c.magic, created_at: "2026-01-05T10:00:00Z", submission_id: 1, kind: "observed_above_q90",
          region_id: c.hidden, country: c.country, category: c.category, period: c.period,
          value: c.magic, threshold: c.magic, exceeded: {} },
        { id: 990001, created_at: "2026-01-05T10:00:00Z", submission_id: 1, kind: "observed_above_q90",
          region_id: c.shown, country: c.shownCountry, category: c.category, period: c.period,
          value: null, threshold: 1.5, exceeded: {} });
    }],
    [/^\\/incidents$/, (b) => {
      b.rows.push(row({ level: "region", country: c.country, period: c.period, reported: c.magic,
                        detected: 0, effort: 1, count: c.magic, suppressed: false, agency: "x" }));
    }],
    [/^\\/observed$/, (b) => {
      b.rows.push(row({ period: c.period, observed: c.magic, reported: c.magic, detected: 0, effort: 1 }));
    }],
    [/^\\/forecast$/, (b) => {
      const first = b.forecasts[0];
      b.forecasts.push(row({ period: first.period, activity_mean: c.magic, activity_q10: c.magic,
                             activity_q50: c.magic, activity_q90: c.magic, detection_rate: c.magic }));
    }],
  ];
  const real = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await real(input, init);
    const path = new URL(typeof input === "string" ? input : input.url, location.href).pathname;
    const doctor = doctors.find(([pattern]) => pattern.test(path));
    if (!doctor || !response.ok) return response;
    const body = await response.json();
    doctor[1](body);
    window.doctored = [...(window.doctored || []), path];
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
})();
"""


@pytest.fixture
def doctored(page: Any, grc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Responses doctored to hold numbers of a region GRC reads only as a total (``MAGIC``)."""
    hidden = grc["hidden"][0]
    config = {
        "hidden": hidden,
        "country": grc["country"][hidden],
        "shown": grc["partner"][0],
        "shownCountry": grc["country"][grc["partner"][0]],
        "category": CATEGORY,
        "period": f"{page.service.dataset.periods[-1]:%Y-%m-%d}",
        "unit": "GRC-BP-01",
        "magic": MAGIC,
    }
    script = page.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": _DOCTOR % json.dumps(config)}
    )
    try:
        yield config
    finally:
        page.driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )


def _latest_totals(service: Any, key: str, country: str) -> dict[str, dict[str, Any]]:
    """The newest ``country`` row per category of GET /incidents, as ``key`` reads it."""
    start = f"{service.dataset.periods[-12]:%Y-%m-%d}"
    rows = service.http.get(
        "/incidents", params={"start": start}, headers=service.bearer(key)
    ).json()["rows"]
    latest: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["period"]):
        if r["level"] == "country" and r["country"] == country:
            latest[r["category"]] = r
    return latest


def _assert_country_level(page: Any, grc: dict[str, Any]) -> None:
    fills, labels = page.fills(), page.labels()
    assert {r for r, f in fills.items() if f == page.COUNTRY_LEVEL} == set(grc["hidden"])
    for region in grc["hidden"]:
        assert not re.search(r"\d", labels[region]), labels[region]  # words, no number
        assert "total" in labels[region]


def test_a_country_analyst_sees_no_region_level_number_outside_its_regions(
    page: Any, grc: dict[str, Any], doctored: dict[str, Any], artifacts: Path
) -> None:
    service = page.service
    made = service.http.post("/plan", json={"horizon": 1}, headers=service.bearer("planner"))
    assert made.status_code == 200, made.text
    plan_id = made.json()["plan_id"]

    page.signed_in("grc-analyst", "regions")
    assert "GRC" in page.text("#who")
    _assert_country_level(page, grc)
    assert {s.get_attribute("data-colour") for s in page.find_all("#legend .swatch")} >= {
        page.COUNTRY_LEVEL
    }

    # A stored plan: shifts per region for GRC's regions, country level for the rest.
    page.find(f'tr[data-plan-id="{plan_id}"] button.open').click()
    page.until(lambda: page.layer() == "plan", "the plan on the map")
    _assert_country_level(page, grc)
    assert len({page.fills()[r] for r in grc["shown"]}) >= 2  # GRC's regions coloured

    # A click on a region of another country: its country's latest total, or that it is withheld.
    region = page.clickable(grc["hidden"])
    country = grc["country"][region]
    page.region_path(region).click()
    page.until(lambda: page.shown_country() == country, f"the totals of {country}")
    details = page.text("#region-details")
    assert "country totals" in details and "Shifts" not in details
    totals = _latest_totals(service, "grc-analyst", country)
    assert totals, f"no total of {country} in the service's answer"
    for category, row in totals.items():
        many = "" if row["count"] == 1 else "s"
        shown = "withheld" if row["suppressed"] else f"{row['count']:,.0f} incident{many}"
        assert f"{category.replace('_', ' ')}, {row['period']}" in details
        assert shown in details
    # the whole country is chosen
    chosen = {p.get_attribute("data-region-id") for p in page.find_all("#map path.selected")}
    assert chosen == {r for r in grc["hidden"] if grc["country"][r] == country}
    page.screenshot(artifacts / "country-level.png")

    # Alerts: only of GRC's regions; a withheld value says so.
    page.find("#tab-alerts").click()
    page.until(lambda: page.layer() == "alerts", "the alerts on the map")
    # (risk alerts: those of a region; a joint operation's steps another test raised name none)
    listed = {
        li.get_attribute("data-region-id") for li in page.find_all("#alerts li[data-region-id]")
    }
    assert listed and listed <= grc["shown"]
    withheld = page.find(
        f'#alerts li[data-alert-id="990001"][data-region-id="{doctored["shown"]}"]'
    )
    assert "withheld" in withheld.text
    _assert_country_level(page, grc)

    # Whatever the responses held, no number of a country-level region shows, anywhere.
    assert set(page.js("return window.doctored")) >= {
        f"/plans/{plan_id}",
        "/alerts",
        "/incidents",
        "/observed",
    }
    said = page.everything_said()
    assert str(MAGIC) not in said and f"{MAGIC:,}" not in said
    assert page.console_errors() == []


def test_a_country_planner_forecast_is_drawn_at_country_level_outside_its_regions(
    page: Any, grc: dict[str, Any], doctored: dict[str, Any], artifacts: Path
) -> None:
    page.signed_in("grc-planner", "forecast")
    _assert_country_level(page, grc)
    assert len({page.fills()[r] for r in grc["shown"]}) >= 3  # a choropleth of GRC's regions
    assert "/forecast" in page.js("return window.doctored")
    options = {
        o.get_attribute("value"): o.text for o in page.find_all("#region-select option[value]")
    }
    assert all("country totals" in options[r] for r in grc["hidden"])

    # a partner region opens on its forecast; a region read as a total on its country's total
    partner = page.clickable(grc["partner"])
    text = page.click_region(partner)
    assert "Detection rate" in text and page.find_all("#region-details svg.chart polyline.mean")
    hidden = page.clickable(grc["hidden"])
    page.region_path(hidden).click()
    page.until(lambda: page.shown_country() == grc["country"][hidden], "the country's totals")
    assert not page.find_all("#region-details svg.chart")
    page.screenshot(artifacts / "country-level-forecast.png")
    said = page.everything_said()
    assert str(MAGIC) not in said and f"{MAGIC:,}" not in said
    assert page.console_errors() == []


def _next_period(service: Any) -> str:
    return f"{service.dataset.periods[-1] + timedelta(weeks=1):%Y-%m-%d}"


def _upload(page: Any, path: Path) -> None:
    """Choose ``path`` in the upload form, send it, and wait for the service's answer."""
    answered = page.js("return document.querySelector('#submit-form').dataset.answered || '0'")
    page.find("#s-file").send_keys(str(path))
    page.find("#s-submit").click()
    page.until(
        lambda: (
            page.js("return document.querySelector('#submit-form').dataset.answered")
            not in (None, answered)
        ),
        f"the answer to {path.name}",
    )


def _receipt(page: Any) -> dict[str, str]:
    """The receipt's lines; of a count, only the number."""
    rows = page.find_all("#submit-receipt table.facts tr")
    said = {r.find_element("css selector", "th").text: r.find_element("css selector", "td").text
            for r in rows}  # fmt: skip
    return {k: v.split(" ")[0] if k.endswith(("cells", "raised")) else v for k, v in said.items()}


def _signed_in_reporter(page: Any) -> None:
    page.open()
    page.sign_in(page.service.keys["grc-reporter"])
    page.until(lambda: page.js("return document.body.dataset.view") == "submit", "the upload panel")


def test_a_reporter_uploads_files_and_reads_each_receipt(
    page: Any, tmp_path: Path, artifacts: Path
) -> None:
    service = page.service
    _signed_in_reporter(page)
    # a reporter submits: it neither forecasts, plans nor reads stored plans
    for tab in ("#tab-forecast", "#tab-plan", "#tab-history"):
        assert page.js(f"return document.querySelector('{tab}').hidden") is True
    assert page.find("#tab-submit").is_displayed() and page.find("#tab-alerts").is_displayed()

    regions = service.dataset.regions
    grc = sorted(regions.loc[regions["country"] == "GRC", "region_id"])[:3]
    period = _next_period(service)
    busiest = int(service.dataset.observed().max())
    rows = pd.DataFrame(
        {
            "region_id": grc,
            "period": period,
            "category": CATEGORY,
            "reported": 10 * busiest,  # far above any forecast: alerts
            "detected": 10 * busiest,
            "effort": 5.0,
        }
    )
    week = tmp_path / "week.csv"
    rows.to_csv(week, index=False)
    _upload(page, week)
    receipt = _receipt(page)
    assert "Received and stored" in page.text("#submit-receipt")
    assert receipt["File"] == "week.csv" and receipt["Rows"] == "3"
    assert (receipt["New cells"], receipt["Corrected cells"]) == ("3", "0")
    assert receipt["Periods"] == period
    submission = int(page.find("#submit-receipt").get_attribute("data-submission-id"))
    listed = service.http.get("/alerts", headers=service.bearer("grc-analyst"))  # its agency's
    raised = [a for a in listed.json()["alerts"] if a["submission_id"] == submission]
    assert raised and receipt["Alerts raised"] == str(len(raised))
    page.screenshot(artifacts / "submission-receipt.png")

    # The same cells, one corrected, as Parquet; then one more corrected, as JSON rows.
    corrected = rows.assign(detected=[10 * busiest + 1, 10 * busiest, 10 * busiest])
    parquet = tmp_path / "week.parquet"
    corrected.to_parquet(parquet)
    _upload(page, parquet)
    receipt = _receipt(page)
    assert receipt["File"] == "week.parquet"
    assert (receipt["New cells"], receipt["Corrected cells"], receipt["Unchanged cells"]) == (
        "0", "1", "2"
    )  # fmt: skip
    as_json = tmp_path / "week.json"
    again = corrected.assign(effort=[5.0, 6.0, 5.0])
    as_json.write_text(json.dumps({"rows": again.to_dict(orient="records")}))
    _upload(page, as_json)
    receipt = _receipt(page)
    assert (receipt["New cells"], receipt["Corrected cells"]) == ("0", "1")
    last = page.find("#submit-receipt").get_attribute("data-submission-id")

    # The same file again: recognised as sent before, nothing stored.
    _upload(page, as_json)
    assert page.find("#submit-receipt").get_attribute("data-duplicate") == "true"
    assert "Already received" in page.text("#submit-receipt")
    assert page.find("#submit-receipt").get_attribute("data-submission-id") == last
    assert page.console_errors() == []


def test_a_reporter_sees_every_problem_of_a_bad_file_with_its_row(
    page: Any, tmp_path: Path, artifacts: Path
) -> None:
    service = page.service
    _signed_in_reporter(page)
    foreign = service.dataset.regions.query("country != 'GRC'")["region_id"].iloc[0]
    grc = service.dataset.regions.query("country == 'GRC'")["region_id"].iloc[0]
    period = f"{service.dataset.periods[-2]:%Y-%m-%d}"
    base = {"period": period, "category": CATEGORY, "reported": 1, "detected": 1, "effort": 1.0}
    bad = tmp_path / "bad-week.csv"
    pd.DataFrame(
        [
            {**base, "region_id": grc},  # line 2: a good row
            {**base, "region_id": "r999"},  # line 3: no such region
            {**base, "region_id": foreign},  # line 4: another country's region
            {**base, "region_id": grc, "category": "trafficking_in_persons", "reported": -2},
        ]  # line 5: a negative count
    ).to_csv(bad, index=False)
    _upload(page, bad)
    section = page.find("#submit-problems")
    assert section.is_displayed() and not page.find("#submit-receipt").is_displayed()
    assert "Nothing was stored" in section.text
    items = section.find_elements("css selector", ".problems-list li")
    assert int(section.get_attribute("data-problems")) == len(items) >= 3
    where = [(i.get_attribute("data-file"), i.get_attribute("data-row"),
              i.get_attribute("data-column")) for i in items]  # fmt: skip
    assert where[:3] == [  # in the file's order, each with its line and column
        ("bad-week.csv", "3", "region_id"),
        ("bad-week.csv", "4", "region_id"),
        ("bad-week.csv", "5", "reported"),
    ]
    assert "row 3 · column region_id · bad-week.csv" in items[0].text
    assert "r999" in items[0].text
    # every problem says how to fix it
    assert all(len(i.find_element("css selector", ".fix").text) > len("Fix: ") for i in items)
    page.screenshot(artifacts / "submission-problems.png")

    # A file the service does not read is refused on the page, before any upload.
    notes = tmp_path / "notes.txt"
    notes.write_text("region_id,period\n")
    page.find("#s-file").send_keys(str(notes))
    page.find("#s-submit").click()
    message = page.until(lambda: page.text("#submit-message"), "the refusal of notes.txt")
    assert ".csv" in message and ".parquet" in message and ".json" in message
    assert page.console_errors(allowed=("400",)) == []  # the refused file, nothing else


def test_every_key_lists_its_alerts(page: Any, grc: dict[str, Any], artifacts: Path) -> None:
    """An analyst's alerts are on its regions and on the map; so are a reporter's
    (GET /alerts and GET /regions open to every role)."""
    service = page.service
    regions = service.dataset.regions
    region = sorted(regions.loc[regions["country"] == "GRC", "region_id"])[-1]
    busiest = int(service.dataset.observed().max())
    row = {"region_id": region, "period": _next_period(service), "category": "trafficking_in_persons",
           "reported": 10 * busiest, "detected": 10 * busiest, "effort": 2.0}  # fmt: skip
    sent = service.http.post(
        "/submissions",
        content=pd.DataFrame([row]).to_csv(index=False).encode(),
        headers={**service.bearer("grc-reporter"), "Content-Type": "text/csv"},
        params={"file": "alert.csv"},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["alerts"] >= 1

    page.signed_in("grc-analyst", "regions")
    page.find("#tab-alerts").click()
    page.until(lambda: page.layer() == "alerts", "the alerts on the map")
    alerted = {
        i.get_attribute("data-region-id") for i in page.find_all("#alerts li[data-region-id]")
    }
    assert region in alerted and alerted <= grc["shown"]
    fills = page.fills()  # on the map, a region with an alert stands out from one without
    assert {fills[r] for r in alerted}.isdisjoint(fills[r] for r in grc["shown"] - alerted)
    page.find(f'#alerts li[data-region-id="{region}"] button.link').click()
    page.until(lambda: page.shown_region() == region, "the alerted region's details")
    assert "Alerts on this region" in page.text("#region-details")
    page.screenshot(artifacts / "alerts.png")

    # The reporter who sent it reads its agency's alerts too, on the same map.
    _signed_in_reporter(page)
    page.find("#tab-alerts").click()
    page.until(
        lambda: page.layer() == "alerts" or page.text("#alerts-message"), "the reporter's alerts"
    )
    assert page.text("#alerts-message") == ""
    mine = page.find_all(f'#alerts li[data-region-id="{region}"]')
    assert mine and "trafficking in persons" in mine[0].text
    _assert_country_level(page, grc)
    mine[0].find_element("css selector", "button.link").click()
    page.until(lambda: page.shown_region() == region, "the alerted region's details")
    assert page.console_errors() == []
