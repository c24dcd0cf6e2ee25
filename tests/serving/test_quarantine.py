"""No submission can stop anyone else: values the models cannot hold are refused, and a
submission the champion cannot forecast the panel with is set aside while the last good panel
keeps serving every agency; the service recovers by itself with the next good submission.

The service serves the tiny world's real champion (trained once per test process).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database, audit_trail
from crossplan.serving.auth import KeyStore, Role, add_key
from tests.serving.conftest import ServiceHome, _point_service_at

Service = tuple[TestClient, dict[str, str], str]

# The tiny world: GRC has r002-r008, MKD r001, r009 and r010; weekly from 2023-01-02 to
# 2024-02-19, categories smuggling_of_migrants and trafficking_in_persons.
_ROW = {"region_id": "r002", "period": "2024-02-19", "category": "smuggling_of_migrants",
        "reported": 3, "detected": 4, "effort": 5.0, "cov_origin_pressure": 0.1}  # fmt: skip
KEYS = {
    "grc-reporter": (Role.REPORTER, "GRC", "Border Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
    "mkd-planner": (Role.PLANNER, "MKD", "Border Police"),
    "ops-admin": (Role.ADMIN, None, None),
}


@pytest.fixture(scope="module")
def champion_service(
    asgi_app: Any, service_home: ServiceHome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    env, _ = service_home(tmp_path_factory.mktemp("home"), champion=True)
    url = f"sqlite:///{Path(env['CROSSPLAN_HOME']) / 'crossplan.db'}"
    db = Database.connect(url)
    tokens = {
        name: add_key(KeyStore(db), name, role, country=country, agency=agency)
        for name, (role, country, agency) in KEYS.items()
    }
    db.dispose()
    with pytest.MonkeyPatch.context() as mp:
        _point_service_at(env, mp)
        with TestClient(asgi_app) as client:
            yield client, tokens, url


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _submit(client: TestClient, token: str, rows: list[dict[str, Any]]) -> Any:
    return client.post("/submissions", json={"rows": rows}, headers=bearer(token))


def _answers(client: TestClient, keys: dict[str, str], *, plan: bool = True) -> dict[str, Any]:
    """What MKD's planner reads: a forecast and (``plan``) a plan, their numbers only."""
    forecast = client.post("/forecast", json={"horizon": 2}, headers=bearer(keys["mkd-planner"]))
    assert forecast.status_code == 200, forecast.text
    if not plan:
        return {"forecasts": forecast.json()["forecasts"]}
    made = client.post("/plan", json={"horizon": 1}, headers=bearer(keys["mkd-planner"]))
    assert made.status_code in (200, 201), made.text
    return {"forecasts": forecast.json()["forecasts"], "plan": _numbers(made.json())}


def _numbers(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan without what differs between two plans on the same data (id, times)."""
    volatile = {"plan_id", "created_at", "build_seconds", "solve_seconds", "total_seconds", "data",
                "warnings"}  # fmt: skip
    return {k: v for k, v in plan.items() if k not in volatile}


def _differ(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Which parts of two answers differ (for a failure's message)."""
    return [f"plan.{k}" for k in a.get("plan", {}) if a["plan"][k] != b["plan"].get(k)] + (
        ["forecasts"] if a["forecasts"] != b["forecasts"] else []
    )


def _as_of(client: TestClient, keys: dict[str, str]) -> str:
    forecast = client.post("/forecast", json={"horizon": 2}, headers=bearer(keys["mkd-planner"]))
    return str(forecast.json()["data"]["as_of"])


def test_values_the_models_cannot_hold_are_refused_and_change_nothing(
    champion_service: Service,
) -> None:
    client, keys, _ = champion_service
    before = _answers(client, keys)
    cases = [
        ({"cov_origin_pressure": 1e39}, "cov_origin_pressure", "too large for the models"),
        ({"effort": 1e39}, "effort", "too large for the models"),
        ({"reported": 99999999999999999999}, "reported", "more than 1,000,000,000"),
        ({"period": "1900-01-01"}, "period", "before the shared panel's first period"),
        ({"period": "1990-01-01"}, "period", "before the shared panel's first period"),
        ({"reported": None, "detected": None, "effort": None, "cov_origin_pressure": None},
         "reported", "has no value"),
    ]  # fmt: skip
    for change, column, message in cases:
        answer = _submit(client, keys["grc-reporter"], [{**_ROW, **change}])
        assert answer.status_code == 400, (change, answer.text)
        problems = answer.json()["problems"]
        assert any(column in str(p.get("field")) and message in p["message"] for p in problems), (
            change,
            problems,
        )
        assert client.get("/readyz").status_code == 200
    now = _answers(client, keys)
    assert now == before, _differ(now, before)


def test_a_submission_the_champion_cannot_forecast_is_set_aside_and_the_next_one_serves(
    champion_service: Service,
) -> None:
    client, keys, url = champion_service
    before = _answers(client, keys)
    as_of = _as_of(client, keys)
    # A category the champion was not trained on: an admin may add it, but the model cannot
    # forecast a panel that has it.
    answer = _submit(client, keys["ops-admin"], [{**_ROW, "category": "labour_exploitation"}])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["quarantined"] is not None
    assert "categories not known to the model" in body["quarantined"]
    assert client.get("/readyz").status_code == 200
    now = _answers(client, keys)
    assert now == before, _differ(now, before)  # every other agency: the last good panel

    alerts = client.get("/alerts", headers=bearer(keys["ops-admin"])).json()["alerts"]
    flagged = [a for a in alerts if a["kind"] == "submission_quarantined"]
    assert flagged and flagged[0]["submission_id"] == body["submission_id"]
    assert "categories not known" in flagged[0]["exceeded"]["reason"]
    db = Database.connect(url)
    try:
        events = audit_trail(db, action="quarantine")
    finally:
        db.dispose()
    assert [e.detail["submission_id"] for e in events][:1] == [body["submission_id"]]

    # The reporter's next submission serves at once: no reload, no admin. (r004 is in the
    # GRC-MKD agreement: MKD reads it region by region, so its data's as-of time moves.)
    fixed = _submit(client, keys["grc-reporter"], [{**_ROW, "region_id": "r004", "reported": 17}])
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["quarantined"] is None
    assert _as_of(client, keys) != as_of
    assert client.get("/readyz").status_code == 200


def test_a_covariate_beyond_what_the_panel_has_seen_is_accepted_and_flagged(
    champion_service: Service,
) -> None:
    client, keys, _ = champion_service
    row = {**_ROW, "region_id": "r005", "cov_origin_pressure": 1e30}
    answer = _submit(client, keys["grc-reporter"], [row])
    assert answer.status_code == 200, answer.text
    (flag,) = answer.json()["warnings"]
    assert flag.startswith("cov_origin_pressure: 1 value(s) outside the range the panel has seen")
    assert "e.g. 1e+30 at rows[0]" in flag
    assert answer.json()["quarantined"] is None


def _bad_rows(rng: np.random.Generator) -> tuple[list[dict[str, Any]], str]:
    """Rows of GRC's reporter with one kind of fault (among valid rows), and the kind."""
    good = [
        {**_ROW, "region_id": f"r00{r}", "period": p, "reported": int(rng.integers(0, 30))}
        for r, p in zip(
            rng.choice([2, 3, 4, 5, 6, 7, 8], 3, replace=False),
            rng.choice(["2024-02-05", "2024-02-12", "2024-02-19"], 3),
            strict=True,
        )
    ]
    kind = str(rng.choice(list(_FAULTS)))
    bad = {**good[0], **_FAULTS[kind](rng)}
    rows = [*good[1:], bad] if rng.random() < 0.5 else [bad, *good[1:]]
    return rows, kind


# Each fault: what it changes in a good row. Every one must be refused.
_FAULTS: dict[str, Any] = {
    "huge covariate": lambda g: {"cov_origin_pressure": float(g.choice([1e39, -1e39, 3.5e38]))},
    "infinite covariate": lambda g: {"cov_origin_pressure": str(g.choice(["inf", "-inf"]))},
    "nan text": lambda g: {"effort": str(g.choice(["NaN", "nan", "n/a", "--"]))},
    "huge effort": lambda g: {"effort": float(g.choice([1e39, 1e300]))},
    "negative effort": lambda g: {"effort": -float(g.uniform(0.1, 1e6))},
    "huge count": lambda g: {"reported": int(g.choice([10**9 + 1, 10**18, 10**19 * 9]))},
    "negative count": lambda g: {"detected": -int(g.integers(1, 1000))},
    "fractional count": lambda g: {"reported": float(g.integers(0, 9)) + 0.5},
    "far past": lambda g: {"period": str(g.choice(["1900-01-01", "1990-01-01", "2022-12-26"]))},
    "future": lambda g: {"period": str(g.choice(["2099-01-05", "2030-01-07"]))},
    "not a week start": lambda g: {"period": "2024-02-20"},
    "not a date": lambda g: {"period": str(g.choice(["yesterday", "2024-13-01", ""]))},
    "time zone": lambda g: {"period": "2024-02-19T00:00:00+02:00"},
    "all empty": lambda g: {
        "reported": None,
        "detected": None,
        "effort": None,
        "cov_origin_pressure": None,
    },
    "another country": lambda g: {"region_id": str(g.choice(["r001", "r009", "r010"]))},
    "unknown region": lambda g: {"region_id": f"r{int(g.integers(11, 999)):03d}"},
    "empty region": lambda g: {"region_id": " "},
    "new category": lambda g: {"category": "labour_exploitation"},
    "variant category": lambda g: {"category": "Smuggling-Of-Migrants"},
    "other source": lambda g: {"source": "Coast Guard"},
    "personal column": lambda g: {"passport_number": "X123"},
    "unknown column": lambda g: {"notes": "see file"},
    "count column": lambda g: {"count": 3},
}


def _body(rows: list[dict[str, Any]], rng: np.random.Generator) -> tuple[bytes, str]:
    form = rng.choice(["json", "csv", "parquet"])
    if form == "json":
        return json.dumps({"rows": rows}).encode(), "application/json"
    frame = pd.DataFrame(rows)
    if form == "csv":
        return frame.to_csv(index=False).encode(), "text/csv"
    buffer = io.BytesIO()
    frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}).to_parquet(
        buffer
    )
    return buffer.getvalue(), "application/vnd.apache.parquet"


_MALFORMED = [
    (b"", "text/csv"),
    (b"\x00\x01\x02", "application/vnd.apache.parquet"),
    (b'{"rows": [1, 2]}', "application/json"),
    (b'{"rows": []}', "application/json"),
    (b"{not json", "application/json"),
    (b"region_id,period\n", "text/csv"),
    (b"\xff\xfe\x00bad", "text/csv"),
]

# Every fault and the malformed files come up within these (the test checks that they did).
FILES = 120


def test_over_a_hundred_bad_files_change_nothing_any_other_agency_reads(
    champion_service: Service,
) -> None:
    client, keys, _ = champion_service
    rng = np.random.default_rng(20261206)
    before = _answers(client, keys)
    seen: set[str] = set()
    headers = bearer(keys["grc-reporter"])
    for i in range(FILES):
        if i % 10 == 9:
            body, content_type = _MALFORMED[int(rng.integers(len(_MALFORMED)))]
            kind = "malformed"
        else:
            rows, kind = _bad_rows(rng)
            body, content_type = _body(rows, rng)
        answer = client.post(
            "/submissions", content=body, headers={**headers, "Content-Type": content_type}
        )
        assert answer.status_code == 400, (i, kind, answer.status_code, answer.text)
        assert answer.json()["problems"], (i, kind)
        seen.add(kind)
        # Every other agency's answers after each file: the same numbers, and ready. (A plan
        # takes about half a second: every fifth file, and after the last.)
        planned = i % 5 == 4 or i == FILES - 1
        try:
            now = _answers(client, keys, plan=planned)
        except AssertionError as err:
            raise AssertionError(f"after file {i} ({kind}): {err}") from None
        expected = before if planned else {"forecasts": before["forecasts"]}
        assert now == expected, (i, kind, _differ(now, before))
        assert client.get("/readyz").status_code == 200, (i, kind)
    assert client.get("/readyz").status_code == 200
    assert seen == {*_FAULTS, "malformed"}
