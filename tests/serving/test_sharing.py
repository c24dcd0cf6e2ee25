"""The sharing rules of GET /incidents and GET /alerts, one test per rule.

The tiny world: GRC holds r002-r008, MKD r001, r009 and r010; the GRC-MKD agreement covers
r001, r004, r007, r008 and r009. Each test fails if its rule is removed.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from starlette.testclient import TestClient

from crossplan.serving.sharing import INCIDENT_COLUMNS, _card_of

Service = tuple[TestClient, dict[str, str], str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _read(client: TestClient, token: str, **params: Any) -> pd.DataFrame:
    r = client.get("/incidents", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return pd.DataFrame(r.json()["rows"], columns=list(INCIDENT_COLUMNS))


def _region_level(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[frame["level"] == "region", "region_id"])


def test_an_analyst_reads_its_own_countrys_regions(database_service: Service) -> None:
    client, keys, _ = database_service
    rows = _read(client, keys["grc-analyst"])
    assert {f"r00{i}" for i in range(2, 9)} <= _region_level(rows)


def test_an_agreement_opens_its_partners_regions_and_no_others(
    database_service: Service,
) -> None:
    client, keys, _ = database_service
    grc = _region_level(_read(client, keys["grc-analyst"]))
    assert {"r001", "r009"} <= grc  # MKD regions of the agreement
    assert "r010" not in grc  # an MKD region no agreement covers


def test_other_countries_are_read_as_country_totals_only(database_service: Service) -> None:
    client, keys, _ = database_service
    rows = _read(client, keys["mkd-analyst"], category="smuggling_of_migrants")
    totals = rows[rows["level"] == "country"]
    assert set(totals["country"]) == {"GRC"}
    assert totals["region_id"].isna().all()
    # MKD reads GRC's regions one by one only where the agreement covers them
    regional = rows[rows["level"] == "region"]
    assert set(regional.loc[regional["country"] == "GRC", "region_id"]) == {"r004", "r007", "r008"}


def test_small_counts_are_suppressed_for_other_agencies_only(database_service: Service) -> None:
    client, keys, _ = database_service
    # GRC's Border Police reports one incident in r003 (an airport) in a new week.
    week = "2024-03-04"
    row = {"region_id": "r003", "period": week, "category": "trafficking_in_persons",
           "reported": 1, "detected": 0, "effort": 2.0}  # fmt: skip
    r = client.post("/submissions", json={"rows": [row]}, headers=bearer(keys["grc-reporter"]))
    assert r.status_code == 200, r.text

    def cell(token: str) -> dict[str, Any]:
        rows = _read(client, token, region="r003", category="trafficking_in_persons", start=week)
        return rows[rows["level"] == "region"].iloc[0].to_dict()

    own = cell(keys["grc-analyst"])  # the agency that sent it reads it as sent
    assert (own["reported"], own["suppressed"]) == (1, False)
    other = cell(keys["grc-police"])  # another agency of the same country does not
    assert other["suppressed"] and other["reported"] is None and other["count"] is None
    assert other["effort"] == 2.0  # patrol effort says nothing about people


def test_a_reporter_cannot_submit_for_a_neighbour(database_service: Service) -> None:
    client, keys, _ = database_service
    row = {"region_id": "r010", "period": "2024-03-04", "category": "smuggling_of_migrants",
           "reported": 9, "detected": 9, "effort": 1.0}  # fmt: skip
    r = client.post("/submissions", json={"rows": [row]}, headers=bearer(keys["grc-reporter"]))
    assert r.status_code == 400
    (problem,) = r.json()["problems"]
    assert problem["field"] == "rows[0].region_id"
    assert "region 'r010' is in MKD" in problem["message"]
    mkd = _read(client, keys["mkd-analyst"], region="r010", start="2024-03-04")
    assert "r010" not in set(mkd["region_id"])  # nothing was stored


def test_alerts_are_listed_for_the_regions_a_key_reads(database_service: Service) -> None:
    client, keys, _ = database_service
    # MKD reports far more than the forecast's q90 in r010, which no agreement covers.
    row = {"region_id": "r010", "period": "2024-02-26", "category": "smuggling_of_migrants",
           "reported": 400, "detected": 100, "effort": 1.0}  # fmt: skip
    r = client.post("/submissions", json={"rows": [row]}, headers=bearer(keys["mkd-reporter"]))
    assert r.status_code == 200, r.text
    assert r.json()["alerts"] >= 1

    def regions(token: str) -> set[str]:
        answer = client.get("/alerts", headers=bearer(token))
        assert answer.status_code == 200
        return {a["region_id"] for a in answer.json()["alerts"]}

    assert "r010" in regions(keys["mkd-analyst"])
    assert "r010" not in regions(keys["grc-analyst"])
    assert "r010" in regions(keys["planner"])  # the operator's key reads every region


def test_a_filter_on_a_region_or_category_the_panel_lacks_is_a_400(
    database_service: Service,
) -> None:
    client, keys, _ = database_service
    params = {"region": ["r002", "true"], "category": "false"}
    r = client.get("/incidents", params=params, headers=bearer(keys["grc-analyst"]))
    assert r.status_code == 400  # not an empty answer, as if nothing had happened there
    assert [p["field"] for p in r.json()["problems"]] == ["region[1]", "category[0]"]
    assert len(_read(client, keys["grc-analyst"], region="r002")) > 0


def test_a_model_card_shows_per_country_figures_of_shown_countries_only_at_any_depth() -> None:
    detection = {
        "kappa": {"tip": 0.1},
        "reporting_rate": {"MKD": 0.3, "GRC": 0.2},
        "intervals90": {"kappa": {"tip": [0.05, 0.2]},
                        "reporting_rate": {"MKD": [0.2, 0.4], "GRC": [0.1, 0.3]}},
        "not_identified": ["reporting_rate[GRC]", "kappa[tip]"],
        "correction": {"applied": 0.5, "applied_by_country": {"MKD": 1.0, "GRC": 0.0},
                       "reason": "50% of the effort correction is applied"},
    }  # fmt: skip
    card = _card_of({"version": "3", "detection_model": detection}, lambda c: c == "MKD")
    shown = card["detection_model"]
    assert "GRC" not in json.dumps(card)
    assert shown["reporting_rate"] == {"MKD": 0.3}
    assert shown["intervals90"] == {"kappa": {"tip": [0.05, 0.2]},
                                    "reporting_rate": {"MKD": [0.2, 0.4]}}  # fmt: skip
    assert shown["not_identified"] == ["kappa[tip]"]
    assert shown["correction"]["applied_by_country"] == {"MKD": 1.0}
    assert shown["correction"]["applied"] == 0.5 and card["version"] == "3"


def test_a_card_hides_hidden_countries_in_mixed_dicts_lists_and_tuples() -> None:
    detection = {
        "reporting_rate": {"MKD": 0.3, "GRC": 0.2},
        "summary": {"GRC": 0.1, "overall": 0.5},
        "by_part": [{"GRC": 1.0, "MKD": 2.0}],
        "flags": ("reporting_rate[GRC]", "kappa[tip]"),
    }
    card = _card_of({"detection_model": detection}, lambda c: c == "MKD")
    assert "GRC" not in json.dumps(card)
    assert card["detection_model"]["summary"] == {"overall": 0.5}
    assert card["detection_model"]["by_part"] == [{"MKD": 2.0}]
    assert card["detection_model"]["flags"] == ["kappa[tip]"]
