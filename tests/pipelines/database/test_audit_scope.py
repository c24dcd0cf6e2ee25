"""Whose events an audit trail gives, and how refused requests are kept from flooding it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from crossplan.pipelines.database import Database, audit_trail, record_event
from crossplan.pipelines.database.audit import RefusalLimit, record_refusal

A, B, C = "MKD", "GRC", "ALB"
MINUTE = datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def db(database_url: str) -> Database:
    return Database.connect(database_url)


def test_a_country_reads_the_events_of_its_keys_and_those_naming_it(db: Database) -> None:
    record_event(db, "mkd-reporter", "submission", actor_agency="BP", actor_country=A, rows=3)
    record_event(db, "grc-reporter", "submission", actor_agency="BP", actor_country=B, rows=1)
    record_event(db, "cli:ops", "key_added", name="mkd-analyst", role="analyst", country=A)
    record_event(db, "cli:ops", "key_added", name="alb-analyst", role="analyst", country=C)
    record_event(db, "alb-planner", "plan", actor_country=C, countries=[B, C])
    record_event(db, "grc-planner", "plan", actor_country=B, countries=[A, B])
    record_event(db, "cli:ops", "import", agencies={A: "BP", C: "CG"})
    record_event(db, "cli:ops", "export", out="/tmp/x")
    # a value that merely contains the code names no country
    record_event(db, "cli:ops", "webhook_added", url=f"https://example.org/{A}")

    mine = audit_trail(db, country=A)
    assert [(e.actor, e.action) for e in mine] == [
        ("cli:ops", "import"),
        ("grc-planner", "plan"),
        ("cli:ops", "key_added"),
        ("mkd-reporter", "submission"),
    ]
    for event in mine:
        assert event.country == A or A in json.dumps(event.detail)
    assert len(audit_trail(db)) == 9  # the operator reads every event
    assert [e.action for e in audit_trail(db, action="plan", country=C)] == ["plan"]


def test_refused_requests_are_bounded_per_source_and_minute(db: Database) -> None:
    """At most ``per_source`` lines a minute from one source and ``per_minute`` in all; the
    rest are one line, written with the first refusal of a later minute."""
    limit = RefusalLimit(per_source=2, per_minute=3)

    def refuse(source: str, at: datetime) -> bool:
        return record_refusal(db, "auth_refused", source=source, at=at, limit=limit,
                              client=source, path="/plans", status=401)  # fmt: skip

    written = [refuse("10.0.0.1", MINUTE + timedelta(seconds=s)) for s in range(5)]
    written += [refuse("10.0.0.2", MINUTE + timedelta(seconds=10 + s)) for s in range(2)]
    assert written == [True, True, False, False, False, True, False]
    assert len(audit_trail(db, action="auth_refused")) == 3
    assert audit_trail(db, action="refusals_suppressed") == []

    assert refuse("10.0.0.1", MINUTE + timedelta(minutes=1))  # a new minute, a new budget
    (summary,) = audit_trail(db, action="refusals_suppressed")
    assert summary.detail == {
        "minute": "2026-03-02T09:00:00+00:00",
        "suppressed": 4,
        "sources": {"10.0.0.1": 3, "10.0.0.2": 1},
        "other_sources": 0,
    }
    assert len(audit_trail(db, action="auth_refused")) == 4


def test_many_sources_cannot_grow_the_limit_itself() -> None:
    """A prober with many addresses is counted, not remembered address by address."""
    limit = RefusalLimit(per_source=1, per_minute=1)
    for k in range(5000):
        limit.admit(f"10.0.{k // 256}.{k % 256}", MINUTE)
    _, summary = limit.admit("10.9.9.9", MINUTE + timedelta(minutes=1))
    assert summary is not None and summary["suppressed"] == 4999
    assert len(summary["sources"]) == 20 and summary["other_sources"] <= 200
