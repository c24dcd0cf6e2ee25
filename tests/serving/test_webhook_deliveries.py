"""Webhook deliveries from the outbox: how posts reach (or do not reach) real local receivers,
and what a replica that dies leaves to another.

An :class:`serving.outbox.OutboxWorker` posts what the database owes; the alerts are stored
and owed as the service does it (:meth:`OutboxWorker.owe`). Every receiver is an HTTP server
on 127.0.0.1, named in the worker's allow-list the way an operator names a host in
``CROSSPLAN_WEBHOOK_ALLOW``; host names resolve through a fixed table.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from crossplan.pipelines.database import (
    AlertRecord,
    Database,
    Submitter,
    audit_trail,
    claim_deliveries,
    finish_delivery,
    outbox_counts,
    store_alerts,
    utcnow,
)
from crossplan.pipelines.database.schema import ApiKeyRow
from crossplan.pipelines.database.versions import insert_submission
from crossplan.serving.auth import KeyStore, Principal, Role, add_key, revoke_key
from crossplan.serving.outbox import PRUNE_EVERY, OutboxWorker
from crossplan.serving.sharing import Audience
from crossplan.serving.webhook_posts import post, sign
from crossplan.serving.webhook_registry import WebhookTarget, add_webhook, delete_webhook, webhooks
from tests.serving.receivers import LOCAL, never_answering, receiving

PUBLIC = "93.184.216.34"  # a public address a test name resolves to (never connected to)
KEYS = {
    "grc-analyst": (Role.ANALYST, "GRC", "Border Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
}
_ENDED = ("delivered", "failed", "refused", "stopped")


def who(name: str) -> Principal:
    role, country, agency = KEYS[name]
    return Principal(name, role, country, agency)


def dns(table: dict[str, list[str]]) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


@pytest.fixture
def db(tmp_path: Any) -> Iterator[Database]:
    """A SQLite database with the keys of :data:`KEYS` and a submission to raise alerts on."""
    database = Database.connect(f"sqlite:///{tmp_path / 'crossplan.db'}")
    keys = KeyStore(database)
    for name, (role, country, agency) in KEYS.items():
        add_key(keys, name, role, country=country, agency=agency)
    with database.write() as con:
        insert_submission(con, fingerprint="f", kind="incidents", received_at=utcnow(),
                          submitter=Submitter("grc"), file="w.csv", rows=1,
                          counts=(1, 0, 0))  # fmt: skip
    yield database
    database.dispose()


@contextmanager
def outbox(db: Database, **options: Any) -> Iterator[OutboxWorker]:
    """A replica's outbox worker, quick to retry, on ``db`` (stopped on exit)."""
    worker = OutboxWorker(db, lambda: None, **{"allow": LOCAL, "poll": 0.05, "lease": 10,
                                               "first_retry": 0.001, **options})  # fmt: skip
    worker.start()
    try:
        yield worker
    finally:
        worker.close(timeout=2)


def _dead(db: Database) -> OutboxWorker:
    """A replica's worker that never runs: what it owes, others post."""
    return OutboxWorker(db, lambda: None, allow=LOCAL)


def _local(db: Database, url: str, name: str = "grc-analyst", **options: Any) -> WebhookTarget:
    return add_webhook(db, who(name), url, allow=LOCAL, **options)


def _owe(worker: OutboxWorker, hook: WebhookTarget, n: int = 0) -> AlertRecord:
    """Store an alert for ``hook``'s agency and owe its post, as the service does."""
    label = Audience.of(hook.owner()).label
    alert = AlertRecord(None, "2026-03-02T09:00:00+00:00", 1, "observed_above_q90", "r004",
                        "GRC", "all", "2024-02-26", 400.0 + n, 12.0, {"n": n},
                        label)  # fmt: skip
    (stored,) = store_alerts(worker.db, [alert])
    worker.owe([stored], [hook])
    return stored


def _settled(db: Database, n: int, seconds: float = 5) -> dict[str, int]:
    """Deliveries by state once ``n`` have ended (delivered or given up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        counts = outbox_counts(db)
        if sum(counts.get(f"webhook_deliveries.{s}", 0) for s in _ENDED) >= n:
            break
        time.sleep(0.02)
    return {k.partition(".")[2]: v for k, v in counts.items() if k.startswith("webhook_")}


def test_a_delivery_posts_the_json_body_to_the_full_url_signed_with_its_id_and_audited(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="serving")
    secret = "a-shared-secret-of-32-characters"
    with receiving() as receiver, outbox(db) as worker:
        hook = _local(db, f"{receiver.url}/alerts?token=s3cret", secret=secret)
        started = time.monotonic()
        alert = _owe(worker, hook)
        assert time.monotonic() - started < 0.5  # the caller does not wait for the post
        assert receiver.wait_for(1, 5)
        assert _settled(db, 1) == {"delivered": 1}
    post_ = receiver.posts[0]
    assert post_.path == "/alerts?token=s3cret"  # the full URL is what is posted to
    assert post_.json() == {"alert": alert.to_dict()}
    assert post_.headers["Content-Type"] == "application/json"
    assert post_.headers["X-Crossplan-Signature"] == sign(secret, post_.body)
    assert post_.headers["X-Crossplan-Webhook"] == str(hook.id)
    assert post_.delivery == post_.headers["Idempotency-Key"] != ""
    delivery = audit_trail(db, action="webhook_delivery")[0]
    assert delivery.actor == "grc-analyst"
    assert {k: delivery.detail[k] for k in ("webhook_id", "outcome", "status", "tries", "country",
                                            "agency", "url", "alert_id", "delivery_id")} == {
        "webhook_id": hook.id, "outcome": "delivered", "status": 204, "tries": 1,
        "country": "GRC", "agency": "Border Police", "url": f"{receiver.url}/alerts?token=***",
        "alert_id": alert.id, "delivery_id": int(post_.delivery),
    }  # fmt: skip
    assert delivery.detail["seconds"] >= 0
    everything = str([e.detail for e in audit_trail(db)]) + caplog.text
    assert "s3cret" not in everything and secret not in everything


@pytest.mark.parametrize(
    ("answers", "outcome", "tries"),
    [
        ([], "delivered", 1),  # accepted at once
        ([503, 502], "delivered", 3),  # down twice, then back: the third try arrives
        ([503] * 5, "failed", 5),  # never back: given up after the last try
        ([429], "delivered", 2),  # "too many requests": tried again later
        ([404], "failed", 1),  # "not found" will not change: no second try
    ],
)
def test_a_failing_receiver_is_retried_only_when_a_retry_may_succeed(
    db: Database, answers: list[int], outcome: str, tries: int
) -> None:
    with receiving(answers) as receiver, outbox(db, attempts=5) as worker:
        _owe(worker, _local(db, f"{receiver.url}/alerts"))
        assert _settled(db, 1) == {outcome: 1}
    assert len(receiver.posts) == tries
    # Every try is the same post: the same body under the same delivery id.
    assert len({(p.delivery, p.body) for p in receiver.posts}) == 1
    assert audit_trail(db, action="webhook_delivery")[0].detail["tries"] == tries


def test_a_redirect_is_not_followed_and_fails_the_delivery(db: Database) -> None:
    with receiving() as elsewhere, receiving([302], location=f"{elsewhere.url}/admin/reload") as (
        receiver
    ), outbox(db) as worker:  # fmt: skip
        _owe(worker, _local(db, f"{receiver.url}/alerts"))
        assert _settled(db, 1) == {"failed": 1}
        time.sleep(0.1)  # time enough for a followed redirect to arrive
    assert len(receiver.posts) == 1 and elsewhere.posts == []
    detail = audit_trail(db, action="webhook_delivery")[0].detail
    assert (detail["status"], detail["outcome"]) == (302, "failed")
    assert "redirects are not followed" in detail["reason"]


def test_a_receiver_that_never_answers_delays_no_other_webhook(db: Database) -> None:
    with never_answering() as silent, receiving() as fast, outbox(db, timeout=3) as worker:
        slow_hook = _local(db, silent)
        fast_hook = _local(db, f"{fast.url}/alerts", name="mkd-analyst")
        for n in range(5):  # the slow one's posts come first
            _owe(worker, slow_hook, n)
        time.sleep(0.2)  # its first post is in flight
        started = time.monotonic()
        _owe(worker, fast_hook)
        # Well before the slow post's 3-second timeout, even on a busy machine.
        assert fast.wait_for(1, 2), "the fast webhook waited for the slow one"
        assert time.monotonic() - started < 2.0
        assert _settled(db, 1) == {"delivered": 1, "pending": 5}  # the slow ones still wait


def _revoke(db: Database) -> None:
    revoke_key(KeyStore(db), "grc-analyst")


def _replace(db: Database) -> None:
    add_key(KeyStore(db), "grc-analyst", Role.ANALYST, country="GRC", agency="Border Police",
            replace=True)  # fmt: skip


def _move(db: Database) -> None:
    add_key(KeyStore(db), "grc-analyst", Role.ANALYST, country="MKD", agency="Border Police",
            replace=True)  # fmt: skip


def _edit(db: Database) -> None:
    with db.write() as con:
        con.execute(sa.update(ApiKeyRow).where(ApiKeyRow.name == "grc-analyst")
                    .values(agency="Coast Guard"))  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        _revoke,  # the key is revoked
        _replace,  # a new key under the same name: the old one is revoked
        _move,  # the name now holds a key of another country
        _edit,  # the key's row edited in the database to another agency
    ],
)
def test_a_webhook_stops_when_its_key_is_revoked_replaced_or_moved(
    db: Database, change: Any
) -> None:
    with receiving() as receiver, outbox(db) as worker:
        hook = _local(db, f"{receiver.url}/alerts")
        _owe(worker, hook, 0)
        assert _settled(db, 1) == {"delivered": 1}
        change(db)
        assert webhooks(db) == []  # no new alert is owed to it
        _owe(worker, hook, 1)  # a post owed before the change was seen
        assert _settled(db, 2) == {"delivered": 1, "stopped": 1}
    assert len(receiver.posts) == 1
    stopped = audit_trail(db, action="webhook_delivery")[0].detail
    assert stopped["outcome"] == "stopped" and "grc-analyst" in stopped["reason"]


def test_a_deleted_webhook_gets_nothing_more(db: Database) -> None:
    with receiving() as receiver, outbox(db) as worker:
        hook = _local(db, f"{receiver.url}/alerts")
        delete_webhook(db, who("grc-analyst"), hook.id)
        _owe(worker, hook)
        assert _settled(db, 1) == {"stopped": 1}
    assert receiver.posts == []
    assert "deleted" in audit_trail(db, action="webhook_delivery")[0].detail["reason"]


def test_a_name_that_resolves_elsewhere_after_registration_is_refused_at_delivery(
    db: Database,
) -> None:
    answers = {"hooks.example.org": [PUBLIC]}
    with receiving() as receiver:
        port = receiver.url.rpartition(":")[2]
        hook = add_webhook(db, who("grc-analyst"), f"https://hooks.example.org:{port}/a",
                           resolve=dns(answers))  # fmt: skip
        answers["hooks.example.org"] = ["127.0.0.1"]  # DNS rebinding: now the local receiver
        with outbox(db, allow=(), resolve=dns(answers)) as worker:
            _owe(worker, hook)
            assert _settled(db, 1) == {"refused": 1}
    assert receiver.posts == []
    assert "loopback" in audit_trail(db, action="webhook_delivery")[0].detail["reason"]


def test_a_post_goes_to_the_address_that_was_checked_with_the_host_name_kept(
    db: Database,
) -> None:
    resolve = dns({"receiver.test": ["127.0.0.1"]})
    with receiving() as receiver:
        port = receiver.url.rpartition(":")[2]
        url = f"http://receiver.test:{port}/alerts"
        hook = add_webhook(db, who("grc-analyst"), url, allow=("receiver.test",), resolve=resolve)
        with outbox(db, allow=("receiver.test",), resolve=resolve) as worker:
            _owe(worker, hook)
            assert receiver.wait_for(1, 5)
    assert receiver.posts[0].headers["Host"] == f"receiver.test:{port}"


def test_closing_stops_quickly_and_leaves_the_post_in_flight_owed(db: Database) -> None:
    with never_answering() as silent:
        worker = OutboxWorker(db, lambda: None, allow=LOCAL, poll=0.05, lease=10, timeout=5)
        worker.start()
        _owe(worker, _local(db, silent))
        time.sleep(0.3)  # the post is in flight
        started = time.monotonic()
        worker.close(timeout=0.5)
        assert time.monotonic() - started < 2.5  # not the post's 5-second timeout
    assert _settled(db, 0) == {"pending": 1}  # another replica takes it when the lease ends


def test_a_post_held_by_a_replica_that_died_is_posted_by_another_after_the_lease(
    db: Database,
) -> None:
    with receiving() as receiver:
        hook = _local(db, f"{receiver.url}/alerts")
        _owe(_dead(db), hook)
        (held,) = claim_deliveries(db, by="dead", lease=0.5, limit=1)  # and it died
        with outbox(db):
            assert not receiver.wait_for(1, 0.3)  # nothing is due before the lease runs out
            assert receiver.wait_for(1, 5)
            assert _settled(db, 1) == {"delivered": 1}
    assert receiver.posts[0].delivery == str(held.id)
    assert audit_trail(db, action="webhook_delivery")[0].detail["tries"] == 2


def test_a_post_that_arrived_before_its_replica_died_comes_again_under_the_same_key(
    db: Database,
) -> None:
    """At least once: the repeat carries the same body and delivery id, and a receiver that
    drops a key it has seen gets the alert once."""
    with receiving() as receiver:
        hook = _local(db, f"{receiver.url}/alerts")
        _owe(_dead(db), hook)
        (held,) = claim_deliveries(db, by="dead", lease=0.3, limit=1)
        # It posts, and dies before it records the delivery.
        assert post(db, hook, held.body.encode(), held.id, allow=LOCAL).outcome == "delivered"
        with outbox(db):
            assert receiver.wait_for(2, 5)
            assert _settled(db, 1) == {"delivered": 1}
    first, again = receiver.posts
    assert (first.delivery, first.body) == (again.delivery, again.body)
    assert receiver.deliveries() == {str(held.id): 2}
    assert len(audit_trail(db, action="webhook_delivery")) == 1


def test_a_post_whose_replicas_keep_dying_is_given_up(db: Database) -> None:
    with receiving() as receiver:
        _owe(_dead(db), _local(db, f"{receiver.url}/alerts"))
        for _ in range(2):  # two replicas take it and die
            assert claim_deliveries(db, by="dead", lease=0.0, limit=1)
        with outbox(db, attempts=2):
            assert _settled(db, 1) == {"failed": 1}
    assert receiver.posts == []
    reason = audit_trail(db, action="webhook_delivery")[0].detail["reason"]
    assert reason == "given up after 2 tries"


def test_a_replica_deletes_the_posts_ended_over_keep_days_ago_once_an_hour(db: Database) -> None:
    hook = _local(db, "http://127.0.0.1:8999/hook")  # never posted to
    worker = OutboxWorker(db, lambda: None, allow=LOCAL, keep_days=30)

    def ended(days: float, n: int) -> None:
        """A post of hook's delivered ``days`` ago."""
        _owe(worker, hook, n)
        (d,) = claim_deliveries(db, by="t", lease=10, limit=1)
        assert finish_delivery(db, d, "delivered", status=204, error=None, actor="t", detail={},
                               now=utcnow() - timedelta(days=days))  # fmt: skip

    ended(40, 0)
    ended(2, 1)
    assert worker.prune(now=0.0) == {"alert_jobs": 0, "webhook_deliveries": 1}
    ended(31, 2)
    assert worker.prune(now=PRUNE_EVERY - 1) == {}  # looked less than an hour ago
    assert worker.prune(now=PRUNE_EVERY) == {"alert_jobs": 0, "webhook_deliveries": 1}
    assert outbox_counts(db) == {"webhook_deliveries.delivered": 1}  # the one of 2 days ago
    # Kept for ever: never deleted.
    ended(400, 3)
    assert OutboxWorker(db, lambda: None, keep_days=0).prune(now=0.0) == {}
    assert outbox_counts(db) == {"webhook_deliveries.delivered": 2}


class _CannotDelete(OutboxWorker):
    """A replica whose hourly deletion fails (a table locked by hand, a full disk)."""

    def prune(self, *, now: float | None = None) -> dict[str, int]:
        raise RuntimeError("the outbox tables are locked")


def test_a_failed_deletion_is_logged_as_such_and_posts_still_go(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="crossplan.serving.outbox")
    with receiving() as receiver:
        hook = _local(db, f"{receiver.url}/alerts")
        worker = _CannotDelete(db, lambda: None, allow=LOCAL, poll=0.05, lease=10)
        worker.start()
        try:
            _owe(worker, hook)
            assert _settled(db, 1) == {"delivered": 1}
        finally:
            worker.close(timeout=2)
    assert "could not delete the outbox rows past keeping" in caplog.text
    assert "the outbox tables are locked" in caplog.text
    assert "could not look for webhook posts due" not in caplog.text
