"""The outbox: alert jobs owed with their submission, claims and leases that only one replica
can win, retries, and alerts with their deliveries stored all at once or not at all.

Every case runs on SQLite and on PostgreSQL (``database_url``), on the tiny world imported by
the operator (``shared_db``); GRC's Border Police submits. Times are given (``now``) so that
leases run out without waiting.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from crossplan.pipelines.database import (
    AlertJob,
    AlertRecord,
    Database,
    Delivery,
    SubmissionResult,
    Submitter,
    audit_trail,
    claim_alert_job,
    claim_deliveries,
    finish_delivery,
    list_alerts,
    outbox_counts,
    prune_outbox,
    release_alert_job,
    retry_delivery,
    settle_alert_job,
    submit_incidents,
    utcnow,
)
from crossplan.pipelines.database.schema import AlertJobRow, WebhookDelivery
from crossplan.pipelines.errors import DataValidationError

GRC = Submitter("grc-bp", "Border Police", "GRC")
LEASE = 60.0


class _Reader:
    """An audience of alerts, as :func:`list_alerts` takes it."""

    def __init__(self, label: str) -> None:
        self.label, self.operator = label, label == "*"


def _submit(db: Database, reported: int = 400, region: str = "r004") -> SubmissionResult:
    row = {"region_id": region, "period": "2024-02-26", "category": "smuggling_of_migrants",
           "reported": reported, "detected": 1, "effort": 1.0}  # fmt: skip
    return submit_incidents(
        db, pd.DataFrame([row]), file="w.csv", row_of=lambda i: i + 2, submitter=GRC
    )


def _alert(sid: int, audience: str, region: str = "r004") -> AlertRecord:
    return AlertRecord(None, "2026-03-02T09:00:00+00:00", sid, "observed_above_q90", region,
                       "GRC", "smuggling_of_migrants", "2024-02-26", 400.0, 12.0, {"q90": 12.0},
                       audience)  # fmt: skip


def _body(alert: AlertRecord) -> str:
    return f'{{"alert": {alert.id}}}'


def _jobs(db: Database) -> dict[int, Any]:
    with db.read() as con:
        return {row.submission_id: row for row in con.execute(sa.select(AlertJobRow)).all()}


def _later(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def _settled(db: Database, job: AlertJob, *audiences: str) -> list[AlertRecord] | None:
    alerts = [_alert(job.submission_id, a) for a in audiences]
    return settle_alert_job(db, job, alerts, {"*": [7], "GRC/Border Police": [8, 9]}, _body)


def test_a_submission_owes_its_alerts_in_its_own_transaction(shared_db: Database) -> None:
    result = _submit(shared_db)
    job = _jobs(shared_db)[result.submission_id]
    assert (job.state, job.claimed_by, job.attempts) == ("pending", None, 0)
    # Sent again: a repeat stores nothing and owes nothing more.
    assert _submit(shared_db).duplicate
    # Refused: nothing stored, nothing owed.
    with pytest.raises(DataValidationError):
        _submit(shared_db, region="r001")  # MKD's region
    assert list(_jobs(shared_db)) == [result.submission_id]


def test_the_submitting_replica_claims_at_once_and_the_others_after_the_hold(
    shared_db: Database,
) -> None:
    sid = _submit(shared_db).submission_id
    # Another replica's worker: the job is the submitting replica's for a lease's length.
    assert claim_alert_job(shared_db, by="other", lease=LEASE) is None
    assert claim_alert_job(shared_db, by="other", lease=LEASE, now=_later(LEASE + 1)) is not None
    # A new job, claimed by the replica that took it at once.
    sid = _submit(shared_db, reported=500).submission_id
    job = claim_alert_job(shared_db, by="mine", lease=LEASE, submission_id=sid)
    assert job is not None and (job.submission_id, job.attempts, job.claimed_by) == (sid, 1, "mine")
    assert job.earlier[0][0] == sid - 1 and job.earlier[0][1] < job.received_at
    # Held: neither the same claim again nor another replica takes it.
    assert claim_alert_job(shared_db, by="again", lease=LEASE, submission_id=sid) is None


def test_only_one_of_many_claimers_at_once_gets_the_job(shared_db: Database) -> None:
    sid = _submit(shared_db).submission_id
    won: list[AlertJob] = []
    start = threading.Barrier(6)

    def claim(n: int) -> None:
        start.wait()
        job = claim_alert_job(shared_db, by=f"replica-{n}", lease=LEASE, submission_id=sid)
        if job is not None:
            won.append(job)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert _jobs(shared_db)[sid].claimed_by == won[0].claimed_by


def test_a_dead_replicas_job_is_taken_over_and_its_late_settle_stores_nothing(
    shared_db: Database,
) -> None:
    sid = _submit(shared_db).submission_id
    dead = claim_alert_job(shared_db, by="dead", lease=LEASE, submission_id=sid)
    assert dead is not None
    assert claim_alert_job(shared_db, by="alive", lease=LEASE) is None  # the lease runs
    alive = claim_alert_job(shared_db, by="alive", lease=LEASE, now=_later(LEASE + 1))
    assert alive is not None and alive.attempts == 2
    # The first replica was only slow, not dead: what it raised is not stored.
    assert _settled(shared_db, dead, "*") is None
    stored = _settled(shared_db, alive, "*", "GRC/Border Police")
    assert stored is not None and [a.audience for a in stored] == ["*", "GRC/Border Police"]
    assert _settled(shared_db, alive, "*") is None  # settled once
    job = _jobs(shared_db)[sid]
    assert (job.state, job.alerts, job.claimed_until) == ("done", 2, None)
    assert [a.id for a in list_alerts(shared_db, _Reader("*"))] == [stored[0].id]
    # One delivery per webhook of each alert's audience.
    assert outbox_counts(shared_db) == {"alert_jobs.done": 1, "webhook_deliveries.pending": 3}


def test_alerts_and_deliveries_are_stored_all_or_nothing(shared_db: Database) -> None:
    sid = _submit(shared_db).submission_id
    job = claim_alert_job(shared_db, by="mine", lease=LEASE, submission_id=sid)
    assert job is not None

    def failing(alert: AlertRecord) -> str:  # dies after the first alerts are written
        if alert.audience == "GRC/Border Police":
            raise RuntimeError("the replica died")
        return _body(alert)

    alerts = [_alert(sid, "*"), _alert(sid, "GRC/Border Police")]
    with pytest.raises(RuntimeError):
        settle_alert_job(shared_db, job, alerts, {"*": [7], "GRC/Border Police": [8]}, failing)
    assert list_alerts(shared_db, _Reader("*")) == []  # the operator's were not kept either
    assert _jobs(shared_db)[sid].state == "pending"
    assert _settled(shared_db, job, "*", "GRC/Border Police") is not None  # a retry stores all
    assert len(list_alerts(shared_db, _Reader("GRC/Border Police"))) == 1


def test_a_released_job_is_due_again_later_and_fails_for_good_when_given_up(
    shared_db: Database,
) -> None:
    sid = _submit(shared_db).submission_id
    job = claim_alert_job(shared_db, by="mine", lease=LEASE, submission_id=sid)
    assert job is not None
    assert release_alert_job(shared_db, job, error="boom", retry_at=_later(30))
    assert claim_alert_job(shared_db, by="w", lease=LEASE, now=_later(20)) is None
    again = claim_alert_job(shared_db, by="w", lease=LEASE, now=_later(31))
    assert again is not None and again.attempts == 2
    assert not release_alert_job(shared_db, job, error="stale", retry_at=None)  # not its own
    assert release_alert_job(shared_db, again, error="boom again", retry_at=None)
    row = _jobs(shared_db)[sid]
    assert (row.state, row.last_error) == ("failed", "boom again")
    assert claim_alert_job(shared_db, by="w", lease=LEASE, now=_later(10 * LEASE)) is None


def _owed(db: Database, *hooks: int) -> list[int]:
    """A settled job with one operator alert owed to ``hooks``; its delivery ids."""
    sid = _submit(db, reported=400 + len(_jobs(db))).submission_id
    job = claim_alert_job(db, by="mine", lease=LEASE, submission_id=sid)
    assert job is not None
    stored = settle_alert_job(db, job, [_alert(sid, "*")], {"*": list(hooks)}, _body)
    assert stored is not None
    with db.read() as con:
        query = sa.select(WebhookDelivery.id).where(WebhookDelivery.alert_id == stored[0].id)
        return sorted(con.execute(query).scalars())


def test_deliveries_are_claimed_one_per_webhook_and_not_while_leased(
    shared_db: Database,
) -> None:
    first = _owed(shared_db, 1, 2)
    second = _owed(shared_db, 1, 2)
    got = claim_deliveries(shared_db, by="a", lease=LEASE, limit=10)
    assert [d.id for d in got] == first  # the oldest of each webhook
    assert all(d.attempts == 1 and d.claimed_by == "a" for d in got)
    # Webhook 2 has a post in flight in the claiming replica: only webhook 1's next one.
    got = claim_deliveries(shared_db, by="b", lease=LEASE, limit=10, busy=frozenset({2}))
    assert [(d.id, d.webhook_id) for d in got] == [(second[0], 1)]
    got = claim_deliveries(shared_db, by="c", lease=LEASE, limit=10)
    assert [d.id for d in got] == [second[1]]  # the last one left
    assert claim_deliveries(shared_db, by="c", lease=LEASE, limit=10) == []  # all leased
    later = claim_deliveries(shared_db, by="d", lease=LEASE, limit=10, now=_later(LEASE + 2))
    assert sorted(d.id for d in later) == sorted(first)  # their leases ran out: "a" died
    assert all(d.attempts == 2 for d in later)


def test_a_delivery_retries_later_and_ends_once_with_its_audit_event(
    shared_db: Database,
) -> None:
    (owed,) = _owed(shared_db, 5)
    (d,) = claim_deliveries(shared_db, by="a", lease=LEASE, limit=1)
    assert retry_delivery(shared_db, d, at=_later(30), status=503, error="answered 503")
    assert claim_deliveries(shared_db, by="b", lease=LEASE, limit=1, now=_later(20)) == []
    (again,) = claim_deliveries(shared_db, by="b", lease=LEASE, limit=1, now=_later(31))
    assert (again.id, again.attempts, again.body) == (owed, 2, d.body)
    # The stale claim may not give it up, nor retry it: it is "b"'s now.
    assert not finish_delivery(shared_db, d, "failed", status=None, error="x", actor="a",
                               detail={"delivery_id": d.id})  # fmt: skip
    assert not retry_delivery(shared_db, d, at=_later(1), status=None, error="x")
    # But a post that arrived ends it, whoever holds it; once.
    detail = {"delivery_id": d.id, "outcome": "delivered"}
    assert finish_delivery(shared_db, d, "delivered", status=204, error=None, actor="grc",
                           detail=detail)  # fmt: skip
    assert not finish_delivery(shared_db, again, "delivered", status=204, error=None,
                               actor="grc", detail=detail)  # fmt: skip
    events = audit_trail(shared_db, action="webhook_delivery")
    assert [(e.actor, e.detail) for e in events] == [("grc", detail)]
    assert outbox_counts(shared_db)["webhook_deliveries.delivered"] == 1
    assert claim_deliveries(shared_db, by="c", lease=LEASE, limit=9, now=_later(999)) == []


def test_a_claimed_delivery_says_what_to_post(shared_db: Database) -> None:
    (owed,) = _owed(shared_db, 5)
    (d,) = claim_deliveries(shared_db, by="a", lease=LEASE, limit=1)
    assert isinstance(d, Delivery) and d.id == owed and d.webhook_id == 5
    (alert,) = list_alerts(shared_db, _Reader("*"))
    assert (d.alert_id, d.body) == (alert.id, _body(alert))


def test_the_outbox_forgets_what_it_no_longer_owes_once_kept_long_enough(
    shared_db: Database,
) -> None:
    _owed(shared_db, 1, 2, 3)  # a done job, its alert owed to three webhooks
    got = {d.webhook_id: d for d in claim_deliveries(shared_db, by="a", lease=LEASE, limit=9)}
    for hook, outcome, status in ((1, "delivered", 204), (2, "failed", 500)):
        assert finish_delivery(shared_db, got[hook], outcome, status=status, error=None,
                               actor="grc", detail={"delivery_id": got[hook].id})  # fmt: skip
    assert retry_delivery(shared_db, got[3], at=_later(30), status=503, error="answered 503")
    given_up = _submit(shared_db, reported=999).submission_id
    job = claim_alert_job(shared_db, by="mine", lease=LEASE, submission_id=given_up)
    assert job is not None and release_alert_job(shared_db, job, error="boom", retry_at=None)
    # Nothing ended before an hour ago: nothing goes.
    assert prune_outbox(shared_db, before=_later(-3600)) == {
        "alert_jobs": 0, "webhook_deliveries": 0,
    }  # fmt: skip
    assert prune_outbox(shared_db, before=_later(1)) == {"alert_jobs": 1, "webhook_deliveries": 2}
    # What is still owed stays, however old, and so does a job given up (alerts never raised).
    assert outbox_counts(shared_db) == {"alert_jobs.failed": 1, "webhook_deliveries.pending": 1}
    assert _jobs(shared_db)[given_up].last_error == "boom"
    (due,) = claim_deliveries(shared_db, by="b", lease=LEASE, limit=9, now=_later(31))
    assert due.id == got[3].id
    # The alert and the audit events of the ended posts stay.
    assert len(list_alerts(shared_db, _Reader("*"))) == 1
    assert len(audit_trail(shared_db, action="webhook_delivery")) == 2
    assert prune_outbox(shared_db, before=_later(1)) == {"alert_jobs": 0, "webhook_deliveries": 0}
