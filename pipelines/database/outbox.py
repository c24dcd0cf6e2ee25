"""The outbox: the alerts each submission owes, and each post owed to a webhook, kept in the
shared database so that a replica's death loses neither.

Alert jobs
----------
:func:`owe_alerts` writes a *pending* job in the very transaction that stores an incidents
submission: once the submission is committed, so is the debt. A replica raises the alerts
only under a *lease*: :func:`claim_alert_job` sets ``claimed_by`` and ``claimed_until`` with
an ``UPDATE`` whose condition (pending, and no lease running) only one claimer can meet, on
SQLite and PostgreSQL alike. :func:`settle_alert_job` then stores every alert, and one
delivery per webhook that reads it, in the transaction that marks the job done — and only
while the job is still pending under that same claim, so the alerts of a submission are
stored once. A replica that dies holding a job leaves it pending; when the lease runs out,
any replica takes it. A job no one has claimed yet is left for ``hold`` seconds to the replica
that took the submission (which raises at once, to answer its reporter), then to anyone.

Deliveries
----------
:func:`claim_deliveries` leases due deliveries the same way, one per webhook at a time; the
replica posts each and records the outcome: :func:`finish_delivery` (delivered, or given up,
with its audit event in the same transaction) or :func:`retry_delivery` (due again later). A
replica that dies between a post and its record leaves the delivery to be posted again when
the lease runs out: the same body under the same delivery id, which a receiver uses to drop
the repeat. Nothing here posts: :mod:`serving.outbox` does, through :mod:`serving.webhook_posts`.

Times are the replicas' clocks (naive UTC, :func:`~pipelines.database.panel.utcnow`): their
clocks must agree to well within a lease.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.database.alerts import AlertRecord, append_alerts
from crossplan.pipelines.database.audit import append_event
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.panel import utcnow
from crossplan.pipelines.database.schema import AlertJobRow, Submission, WebhookDelivery

__all__ = [
    "DELIVERED",
    "DONE",
    "FAILED",
    "PENDING",
    "AlertJob",
    "Delivery",
    "Posts",
    "append_deliveries",
    "claim_alert_job",
    "claim_deliveries",
    "finish_delivery",
    "outbox_counts",
    "owe_alerts",
    "owe_deliveries",
    "release_alert_job",
    "retry_delivery",
    "settle_alert_job",
]

PENDING = "pending"
DONE = "done"
DELIVERED = "delivered"
FAILED = "failed"  # given up (a delivery may also end "refused" or "stopped")

# Submissions before a job's that it names, newest first: the panel "before" it is as of the
# first one whose panel can be forecast.
_EARLIER = 5
# Due jobs looked at per claim (others may take the first ones meanwhile).
_CANDIDATES = 10
_ERROR_LENGTH = 2000

_Where = tuple[sa.ColumnElement[bool], ...]


@dataclass(frozen=True)
class AlertJob:
    """A job leased to ``claimed_by``: the submission, when it was received, and the
    submissions before it (``(id, received_at)``, newest first).

    Attributes
    ----------
    attempts
        Claims so far, this one included.
    """

    submission_id: int
    received_at: datetime
    earlier: tuple[tuple[int, datetime], ...]
    attempts: int
    claimed_by: str


@dataclass(frozen=True)
class Delivery:
    """A post leased to ``claimed_by``: its body goes to the webhook ``webhook_id``.

    Attributes
    ----------
    attempts
        Claims so far, this one included.
    """

    id: int
    alert_id: int
    webhook_id: int
    body: str
    attempts: int
    claimed_by: str


def owe_alerts(con: Connection, submission_id: int, now: datetime | None = None) -> None:
    """Record, in the caller's transaction (the submission's), that the submission's alerts
    are owed."""
    con.execute(
        sa.insert(AlertJobRow).values(
            submission_id=submission_id, state=PENDING, created_at=now or utcnow(), attempts=0
        )
    )


def claim_alert_job(
    db: Database,
    *,
    by: str,
    lease: float,
    submission_id: int | None = None,
    hold: float | None = None,
    now: datetime | None = None,
) -> AlertJob | None:
    """Lease a pending job to ``by`` for ``lease`` seconds; ``None`` when there is none to take.

    Parameters
    ----------
    submission_id
        Take this submission's job (the replica that took the submission), unless another
        holds it. Without it: the oldest job due, never claimed and older than ``hold``
        seconds (default: ``lease``), or whose lease or retry time has come.
    """
    moment = now or utcnow()
    until = moment + timedelta(seconds=lease)
    free = sa.or_(AlertJobRow.claimed_until.is_(None), AlertJobRow.claimed_until <= moment)
    if submission_id is not None:
        due, candidates = free, [submission_id]
    else:
        held = moment - timedelta(seconds=lease if hold is None else hold)
        due = sa.or_(
            sa.and_(AlertJobRow.claimed_until.is_(None), AlertJobRow.created_at <= held),
            AlertJobRow.claimed_until <= moment,
        )
        with db.read() as con:
            candidates = list(
                con.execute(
                    sa.select(AlertJobRow.submission_id)
                    .where(AlertJobRow.state == PENDING, due)
                    .order_by(AlertJobRow.submission_id)
                    .limit(_CANDIDATES)
                ).scalars()
            )
    for sid in candidates:
        with db.write() as con:
            where = (AlertJobRow.submission_id == sid, AlertJobRow.state == PENDING, due)
            if _changed(con, AlertJobRow, where, claimed_by=by[:64], claimed_until=until,
                        attempts=AlertJobRow.attempts + 1):  # fmt: skip
                return _claimed_job(con, sid)
    return None


def release_alert_job(
    db: Database, job: AlertJob, *, error: str, retry_at: datetime | None
) -> bool:
    """Give back a job whose alerts could not be raised: due again at ``retry_at``, or failed
    for good when it is ``None``; whether it was still ``job``'s to give back."""
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": retry_at,
                              "last_error": error[:_ERROR_LENGTH]}  # fmt: skip
    if retry_at is None:
        values.update(state=FAILED, done_at=utcnow())
    with db.write() as con:
        return _changed(con, AlertJobRow, _held(job), **values)


def settle_alert_job(
    db: Database,
    job: AlertJob,
    alerts: Sequence[AlertRecord],
    targets: Mapping[str, Sequence[int]],
    body: Callable[[AlertRecord], str],
    now: datetime | None = None,
) -> list[AlertRecord] | None:
    """Store a job's alerts, and a delivery of each to every webhook of its audience, in the
    transaction that marks the job done.

    Parameters
    ----------
    targets
        Webhook ids by audience label (:attr:`AlertRecord.audience`).
    body
        What is posted of a stored alert.

    Returns
    -------
    list of AlertRecord or None
        The alerts stored, with their ids; ``None``, storing nothing, when the job is no
        longer pending under ``job``'s claim (done meanwhile, or claimed by another replica
        once the lease ran out).
    """
    moment = now or utcnow()
    with db.write() as con:
        done = {"state": DONE, "done_at": moment, "claimed_until": None, "alerts": len(alerts),
                "last_error": None}  # fmt: skip
        if not _changed(con, AlertJobRow, _held(job), **done):
            return None
        stored = append_alerts(con, alerts)
        append_deliveries(con, stored, targets, body, moment)
    return stored


def owe_deliveries(
    db: Database,
    alerts: Sequence[AlertRecord],
    targets: Mapping[str, Sequence[int]],
    body: Callable[[AlertRecord], str],
) -> int:
    """Owe the posts of alerts already stored to the webhooks of their audiences (as
    :func:`settle_alert_job` does for a job's); how many."""
    with db.write() as con:
        return append_deliveries(con, alerts, targets, body, utcnow())


def claim_deliveries(
    db: Database,
    *,
    by: str,
    lease: float,
    limit: int,
    busy: frozenset[int] = frozenset(),
    now: datetime | None = None,
) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries to ``by`` for ``lease`` seconds: the oldest due
    one of each webhook not in ``busy``. A delivery is due once its retry time has come and
    no lease runs on it."""
    if limit <= 0:
        return []
    moment = now or utcnow()
    due = sa.and_(
        WebhookDelivery.state == PENDING,
        WebhookDelivery.next_attempt_at <= moment,
        sa.or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until <= moment),
    )
    with db.read() as con:
        rows = con.execute(
            sa.select(WebhookDelivery.id, WebhookDelivery.webhook_id)
            .where(due)
            .order_by(WebhookDelivery.id)
            .limit(max(100, 20 * limit))
        ).all()
    first: dict[int, int] = {}
    for delivery_id, webhook_id in rows:
        if webhook_id not in busy:
            first.setdefault(int(webhook_id), int(delivery_id))
    picked = sorted(first.values())[:limit]
    if not picked:
        return []
    until = moment + timedelta(seconds=lease)
    claim = {
        "claimed_by": by[:64],
        "claimed_until": until,
        "attempts": WebhookDelivery.attempts + 1,
    }
    with db.write() as con:
        taken = [
            i
            for i in picked
            if _changed(con, WebhookDelivery, (WebhookDelivery.id == i, due), **claim)
        ]
        if not taken:
            return []
        d = WebhookDelivery
        found = con.execute(
            sa.select(d.id, d.alert_id, d.webhook_id, d.body, d.attempts, d.claimed_by)
            .where(d.id.in_(taken))
            .order_by(d.id)
        ).all()
    return [Delivery(int(i), int(a), int(w), b, int(n), str(c)) for i, a, w, b, n, c in found]


def retry_delivery(
    db: Database, delivery: Delivery, *, at: datetime, status: int | None, error: str
) -> bool:
    """Make a delivery due again at ``at`` after a failed try; whether it was still
    ``delivery``'s."""
    with db.write() as con:
        return _changed(con, WebhookDelivery, _leased(delivery), next_attempt_at=at,
                        claimed_by=None, claimed_until=None, last_status=status,
                        last_error=error[:_ERROR_LENGTH])  # fmt: skip


def finish_delivery(
    db: Database,
    delivery: Delivery,
    outcome: str,
    *,
    status: int | None,
    error: str | None,
    actor: str,
    detail: Mapping[str, Any],
    now: datetime | None = None,
) -> bool:
    """End a delivery, with its audit event (``webhook_delivery``) in the same transaction.

    ``delivered`` ends it whoever holds it now (the post arrived); another ``outcome``
    (given up: ``failed``, ``refused``, ``stopped``) only while it is still ``delivery``'s.
    Returns whether this call ended it (the event is written only then).
    """
    held = _leased(delivery) if outcome != DELIVERED else _pending(delivery)
    with db.write() as con:
        ended = _changed(con, WebhookDelivery, held, state=outcome, delivered_at=now or utcnow(),
                         claimed_by=None, claimed_until=None, last_status=status,
                         last_error=None if error is None else error[:_ERROR_LENGTH])  # fmt: skip
        if ended:
            append_event(con, actor, "webhook_delivery", **detail)
    return ended


def outbox_counts(db: Database) -> dict[str, int]:
    """Rows of the outbox by table and state, e.g. ``{"alert_jobs.done": 3,
    "webhook_deliveries.pending": 1}``."""
    counts: dict[str, int] = {}
    with db.read() as con:
        for table, state in (
            ("alert_jobs", AlertJobRow.state),
            ("webhook_deliveries", WebhookDelivery.state),
        ):
            for value, n in con.execute(sa.select(state, sa.func.count()).group_by(state)).all():
                counts[f"{table}.{value}"] = int(n)
    return counts


def _changed(
    con: Connection, table: type[AlertJobRow | WebhookDelivery], where: _Where, **values: Any
) -> bool:
    """Update the one row matching ``where``; whether there was one (what makes a claim
    atomic: of two replicas, only the first one's condition still holds)."""
    return bool(con.execute(sa.update(table).where(*where).values(**values)).rowcount == 1)


def _held(job: AlertJob) -> _Where:
    return (
        AlertJobRow.submission_id == job.submission_id,
        AlertJobRow.state == PENDING,
        AlertJobRow.claimed_by == job.claimed_by[:64],
    )


def _pending(delivery: Delivery) -> _Where:
    return WebhookDelivery.id == delivery.id, WebhookDelivery.state == PENDING


def _leased(delivery: Delivery) -> _Where:
    return (*_pending(delivery), WebhookDelivery.claimed_by == delivery.claimed_by[:64])


def _claimed_job(con: Connection, submission_id: int) -> AlertJob:
    row = con.execute(
        sa.select(AlertJobRow.attempts, AlertJobRow.claimed_by, Submission.received_at)
        .join(Submission, Submission.id == AlertJobRow.submission_id)
        .where(AlertJobRow.submission_id == submission_id)
    ).one()
    earlier = con.execute(
        sa.select(Submission.id, Submission.received_at)
        .where(Submission.id < submission_id)
        .order_by(Submission.id.desc())
        .limit(_EARLIER)
    ).all()
    return AlertJob(
        submission_id,
        row.received_at,
        tuple((int(i), at) for i, at in earlier),
        int(row.attempts),
        str(row.claimed_by),
    )


@dataclass(frozen=True)
class Posts:
    """What an act owes the webhooks of its alerts' audiences, in its own transaction:
    webhook ids by audience label, and what is posted of a stored alert."""

    targets: Mapping[str, Sequence[int]]
    body: Callable[[AlertRecord], str]

    def owe(self, con: Connection, alerts: Sequence[AlertRecord], moment: datetime) -> int:
        """:func:`append_deliveries` of ``alerts``, in the caller's transaction."""
        return append_deliveries(con, alerts, self.targets, self.body, moment)


def append_deliveries(
    con: Connection,
    alerts: Sequence[AlertRecord],
    targets: Mapping[str, Sequence[int]],
    body: Callable[[AlertRecord], str],
    moment: datetime,
) -> int:
    """Owe, in the caller's transaction, the post of each stored alert to every webhook of its
    audience (``targets``: webhook ids by audience label); how many."""
    rows = [
        {"alert_id": alert.id, "webhook_id": webhook_id, "body": body(alert), "state": PENDING,
         "created_at": moment, "attempts": 0, "next_attempt_at": moment}
        for alert in alerts
        if alert.id is not None
        for webhook_id in targets.get(alert.audience, ())
    ]  # fmt: skip
    if rows:
        con.execute(sa.insert(WebhookDelivery), rows)
    return len(rows)
