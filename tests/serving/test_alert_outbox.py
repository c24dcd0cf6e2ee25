"""A replica that dies right after a submission committed loses none of its alerts: a fresh
service raises them, stores them once, and posts each once to every webhook that reads it.

The replica's death is its absence: the submission is committed through
:func:`pipelines.database.submit_incidents`, as the route does, and nothing of what the route
does next happens. Then a new service instance starts on the database (in process, on its
ASGI app), with local receivers as its webhooks.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import (
    Database,
    Submitter,
    import_directory,
    list_alerts,
    submit_incidents,
)
from crossplan.serving.auth import KeyStore, Principal, Role, add_key
from crossplan.serving.sharing import OPERATOR, Audience
from crossplan.serving.webhook_registry import add_webhook
from tests.serving.receivers import LOCAL, Receiver, receiving

# Keys of GRC's and MKD's border police, and the operator's planner (the GRC-MKD agreement
# covers r004: both agencies read it region by region).
KEYS = {
    "grc-reporter": (Role.REPORTER, "GRC", "Border Police"),
    "grc-analyst": (Role.ANALYST, "GRC", "Border Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
    "planner": (Role.PLANNER, None, None),
}
# Who has a webhook, as which reader.
HOOKED = {"grc-analyst": "GRC/Border Police", "mkd-analyst": "MKD/Border Police", "planner": "*"}
# Far above the stand-in forecast's q90 in every region: an alert for every reader of them.
ROWS = [
    {"region_id": region, "period": "2024-02-26", "category": "smuggling_of_migrants",
     "reported": 400, "detected": 100, "effort": 1.0}
    for region in ("r004", "r005")
]  # fmt: skip
# Who reads which of them region by region: r005 is GRC's alone.
READS = {
    "*": ["r004", "r005"],
    "GRC/Border Police": ["r004", "r005"],
    "MKD/Border Police": ["r004"],
}


def _principal(name: str) -> Principal:
    role, country, agency = KEYS[name]
    return Principal(name, role, country, agency)


def _readers() -> dict[str, Audience]:
    agencies = [label for label in HOOKED.values() if label != "*"]
    return {"*": OPERATOR, **{label: Audience(*label.split("/")) for label in agencies}}


def _stored(db: Database, sid: int) -> dict[str, list[Any]]:
    """The alerts of submission ``sid`` by reader."""
    return {
        label: [a for a in list_alerts(db, reader, limit=1000) if a.submission_id == sid]
        for label, reader in _readers().items()
    }


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_the_alerts_of_a_submission_whose_replica_died_are_raised_and_posted_once(
    asgi_app: Any,
    tiny_world_dir: Path,
    forecast_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'crossplan.db'}"
    db = Database.connect(url)
    import_directory(db, tiny_world_dir, Submitter("service"))
    keys = KeyStore(db)
    for name, (role, country, agency) in KEYS.items():
        add_key(keys, name, role, country=country, agency=agency)
    receivers: dict[str, Receiver] = {}
    with receiving() as grc, receiving() as mkd, receiving() as operator:
        for name, receiver in zip(HOOKED, (grc, mkd, operator), strict=True):
            add_webhook(db, _principal(name), f"{receiver.url}/{name}", allow=LOCAL)
            receivers[HOOKED[name]] = receiver
        # The replica that took the submission dies as the transaction commits.
        result = submit_incidents(
            db, pd.DataFrame(ROWS), file="rows.json", row_of=lambda i: i + 1,
            submitter=Submitter("grc-reporter", "Border Police", "GRC"),
        )  # fmt: skip
        assert not any(_stored(db, result.submission_id).values())  # nothing was raised

        env = {
            "CROSSPLAN_HOME": str(tmp_path), "CROSSPLAN_DATA": str(tiny_world_dir),
            "CROSSPLAN_DATABASE_URL": url, "CROSSPLAN_FORECAST_FILE": str(forecast_file),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "CROSSPLAN_WEBHOOK_ALLOW": "127.0.0.1",
            "CROSSPLAN_OUTBOX_POLL": "1", "CROSSPLAN_OUTBOX_LEASE": "1",
        }  # fmt: skip
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with TestClient(asgi_app):  # a replica starts on the database
            raised = _wait(lambda: all(_stored(db, result.submission_id).values()), 20)
            stored = _stored(db, result.submission_id)
            owed = {label: len(alerts) for label, alerts in stored.items()}
            posted = all(receivers[label].wait_for(n, 10) for label, n in owed.items())
            time.sleep(1.5)  # time enough for a repeat to arrive
    db.dispose()

    assert raised, f"the alerts were never raised: {owed}"
    assert posted, {label: len(r.posts) for label, r in receivers.items()}
    for label, alerts in stored.items():
        # Stored once for each reader: one alert per cell and kind.
        cells = Counter((a.kind, a.region_id, a.category, a.period) for a in alerts)
        assert sorted(cells) == [("observed_above_q90", r, "smuggling_of_migrants",
                                  "2024-02-26") for r in READS[label]], label  # fmt: skip
        assert set(cells.values()) == {1}, label
        # Posted once to the reader's webhook, each alert under a delivery id of its own.
        posts = receivers[label].posts
        assert sorted(p.json()["alert"]["id"] for p in posts) == sorted(a.id for a in alerts)
        assert all(p.headers.get("Idempotency-Key") == p.delivery != "" for p in posts)
        assert len({p.delivery for p in posts}) == len(posts)
        assert all(json.loads(p.body)["alert"]["submission_id"] == result.submission_id
                   for p in posts)  # fmt: skip
