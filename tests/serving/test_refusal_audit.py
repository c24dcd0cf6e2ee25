"""Refused requests leave a trace: a refused submission (400, 401, 403) and a refused key are
in the audit trail, with who and what, never the body nor the key; a prober's flood is not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

_MARK = "r0zz9-never-in-the-trail"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _trail(client: TestClient, admin: str, action: str) -> list[dict[str, Any]]:
    r = client.get("/audit", params={"action": action, "limit": 1000}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


@pytest.mark.parametrize(
    ("key", "status", "actor", "country"),
    [
        ("reporter", 400, "reporter", "GRC"),  # rows that break the contract
        ("analyst", 403, "analyst", None),  # a role that may not submit
        (None, 401, "-", None),  # a key the service does not know
    ],
)
def test_a_refused_submission_is_audited_without_its_body(
    client: TestClient,
    served: dict[str, str],
    key: str | None,
    status: int,
    actor: str,
    country: str | None,
) -> None:
    token = served[key] if key else "cpk_not-a-key-of-this-service"
    csv = f"region_id,period,category,reported,detected,effort\n{_MARK},2024-01-01,x,1,1,1\n"
    r = client.post("/submissions", content=csv.encode(),
                    headers={**bearer(token), "Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == status, r.text
    (event,) = _trail(client, served["admin"], "submission_refused")
    assert (event["actor"], event["country"]) == (actor, country)
    detail = event["detail"]
    assert (detail["path"], detail["method"], detail["status"]) == ("/submissions", "POST", status)
    assert detail["key_sent"] is True
    if status == 400:
        assert detail["problems"] == len(r.json()["problems"]) >= 1
    assert _MARK not in json.dumps(event) and token not in json.dumps(event)


def test_a_refused_key_is_audited_and_a_flood_of_them_is_not(
    client: TestClient, served: dict[str, str]
) -> None:
    tokens = [f"cpk_guess-{k}" for k in range(12)]
    for token in tokens:
        assert client.get("/plans", headers=bearer(token)).status_code == 401
    assert client.get("/plans").status_code == 401  # no key at all
    events = _trail(client, served["admin"], "auth_refused")
    # One client: at most 5 lines a minute (10 should the minute turn meanwhile).
    assert 1 <= len(events) <= 10
    first = events[-1]["detail"]
    assert (first["path"], first["status"], first["key_sent"]) == ("/plans", 401, True)
    trail = json.dumps(_trail(client, served["admin"], "auth_refused"))
    assert not [t for t in tokens if t in trail]
