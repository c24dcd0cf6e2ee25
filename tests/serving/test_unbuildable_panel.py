"""A panel that does not build never takes the service down: the last good one keeps
serving, /readyz says not ready, and a revert of the named submission makes it ready again."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from crossplan.pipelines.database import Database, Submitter, load_panel, revert_submission, utcnow
from crossplan.pipelines.database.versions import (
    _records,
    insert_submission,
    insert_versions,
    receipt_time,
)

Service = tuple[TestClient, dict[str, str], str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_last_good_panel_serves_until_the_bad_submission_is_reverted(
    database_service: Service,
) -> None:
    client, keys, url = database_service
    planner = bearer(keys["planner"])
    before: dict[str, Any] = client.post("/forecast", json={"horizon": 1}, headers=planner).json()
    db = Database.connect(url)
    try:
        good = load_panel(db)
        # Cells written past the submission checks (as an older version could): a region no
        # regions file knows, so the panel cannot be built.
        bad = good.dataset.incidents.tail(1).assign(region_id="r999")
        with db.write() as con:
            received = receipt_time(con, utcnow)
            sid = insert_submission(
                con, fingerprint="e" * 64, kind="incidents", received_at=received,
                submitter=Submitter("grc-bp", "Border Police", "GRC"), file="old.csv", rows=1,
                counts=(1, 0, 0),
            )  # fmt: skip
            insert_versions(con, _records(bad), sid)
        answer = client.post("/forecast", json={"horizon": 1}, headers=planner)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["as_of"] == before["data"]["as_of"]  # the last good panel
        assert client.get("/readyz").status_code == 503
        revert_submission(db, sid, reason="unknown region", by=Submitter("cli:ops"))
    finally:
        db.dispose()
    assert client.get("/readyz").status_code == 200
    after = client.post("/forecast", json={"horizon": 1}, headers=planner).json()
    assert after["data"]["as_of"] != before["data"]["as_of"]  # the revert is the newest
    assert after["forecasts"] == before["forecasts"]
