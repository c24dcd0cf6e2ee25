"""The tables of the shared database (SQLAlchemy 2 declarative models).

The migrations in ``migrations/versions`` create them; these models are how the modules of
this package read and write them (the service calls those modules, never the models). Tables
marked *append-only* refuse ``UPDATE`` and ``DELETE`` in the database itself (SQLite
triggers, PostgreSQL trigger functions), so no code path can rewrite history:

==========================  ============  ==========================================================
table                       append-only   holds
==========================  ============  ==========================================================
``submissions``             yes           who sent what and when: agency, key, country, fingerprint
``documents``               yes           regions and resources files, each in a submission
``cell_versions``           yes           every version of every panel cell, in a submission
``plans``                   yes           every plan the service made
``alerts``                  yes           risk alerts after submissions; joint operations' steps
``audit``                   yes           every act: submissions, reverts, imports, exports, …
``operations``              yes           joint operations as proposed: regions, periods, needs
``operation_events``        yes           each step of an operation: pledges, confirmation, …
``api_keys``                no            hashed keys (revoking deletes; the audit keeps the record)
``webhooks``                no            where an agency wants its alerts posted
``alert_jobs``              no            the alerts each submission owes, until raised (the outbox)
``webhook_deliveries``      no            each post owed to a webhook, until delivered or given up
==========================  ============  ==========================================================

The panel's three tables are written through :mod:`~pipelines.database.versions` (by
:mod:`~pipelines.database.submissions` and :mod:`~pipelines.database.revert`) and rebuilt
into a panel by :mod:`~pipelines.database.panel`; each of the others has its own repository:
:mod:`~pipelines.database.plans`, :mod:`~pipelines.database.alerts`,
:mod:`~pipelines.database.audit`, :mod:`~pipelines.database.keys` (``api_keys``),
:mod:`~pipelines.database.webhooks`, :mod:`~pipelines.database.outbox` (``alert_jobs``
and ``webhook_deliveries``) and :mod:`~pipelines.database.operations` (``operations`` and
``operation_events``: an operation's status is derived from its events, never updated).

Times are naive UTC ``datetime`` values with microseconds, the same on both databases.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "APPEND_ONLY",
    "Alert",
    "AlertJobRow",
    "ApiKeyRow",
    "AuditEntry",
    "Base",
    "CellVersion",
    "Document",
    "Operation",
    "OperationEvent",
    "PlanRow",
    "Submission",
    "Webhook",
    "WebhookDelivery",
]

APPEND_ONLY = (
    "submissions",
    "documents",
    "cell_versions",
    "plans",
    "alerts",
    "audit",
    "operations",
    "operation_events",
)

_BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only


class Base(DeclarativeBase):
    pass


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # incidents | regions | resources | revert
    received_at: Mapped[datetime] = mapped_column(DateTime(), index=True)
    key_name: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(3))
    file_name: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)
    new_cells: Mapped[int] = mapped_column(Integer)
    corrected_cells: Mapped[int] = mapped_column(Integer)
    unchanged_cells: Mapped[int] = mapped_column(Integer)


class Document(Base):
    __tablename__ = "documents"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))  # regions.geojson | resources.json
    content: Mapped[str] = mapped_column(Text)


class CellVersion(Base):
    __tablename__ = "cell_versions"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    region_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[date] = mapped_column(Date, index=True)
    category: Mapped[str] = mapped_column(String(100))
    reported: Mapped[int | None] = mapped_column(BigInteger)
    detected: Mapped[int | None] = mapped_column(BigInteger)
    effort: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int | None] = mapped_column(BigInteger)
    covariates: Mapped[str | None] = mapped_column(Text)  # JSON object of cov_* values
    source: Mapped[str | None] = mapped_column(String(200))


class PlanRow(Base):
    __tablename__ = "plans"

    seq: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(40))
    requester: Mapped[str] = mapped_column(String(64), index=True)
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(64))
    input_fingerprint: Mapped[str] = mapped_column(String(64))
    data_as_of: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float | None] = mapped_column(Float)
    solver: Mapped[str] = mapped_column(String(16))
    solve_seconds: Mapped[float | None] = mapped_column(Float)
    total_seconds: Mapped[float] = mapped_column(Float)
    request_json: Mapped[str] = mapped_column(Text)
    response_json: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(3))  # the requester's
    agency: Mapped[str | None] = mapped_column(String(200))
    countries: Mapped[str | None] = mapped_column(String(400))  # involved, space-separated


class Alert(Base):
    """A risk alert (of a submission: region, category, period, value, the row exceeded) or a
    joint operation's step (``operation`` and its ``detail``); the other columns are null."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    # observed_above_q90 | forecast_jump | operation_proposed | operation_pledged | ...
    kind: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[str | None] = mapped_column(String(100), index=True)
    country: Mapped[str | None] = mapped_column(String(3))
    category: Mapped[str | None] = mapped_column(String(100))
    period: Mapped[date | None] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    exceeded: Mapped[str | None] = mapped_column(Text)  # JSON: the forecast row that was exceeded
    audience: Mapped[str | None] = mapped_column(String(220), index=True)  # whose view
    operation: Mapped[int | None] = mapped_column(ForeignKey("operations.id"), index=True)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON: the operation's step


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)  # JSON object


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(3))
    agency: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(40))
    # 'agency' or 'national': which units its plans command (revision 0006).
    scope: Mapped[str] = mapped_column(String(16), default="agency")


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    key_name: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(3))
    agency: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))  # as shown: the query's values redacted
    created_at: Mapped[datetime] = mapped_column(DateTime())
    # Read only to post: never returned, listed, logged nor audited.
    delivery_url: Mapped[str] = mapped_column(String(2000))  # the URL as registered
    secret: Mapped[str | None] = mapped_column(String(200))  # signs each body (HMAC-SHA256)
    # The key that registered it, as it was then: a webhook stops when that key goes.
    key_created_at: Mapped[str | None] = mapped_column(String(40))


class AlertJobRow(Base):
    """The alerts a submission owes: written with the submission, settled once they are
    stored (:mod:`~pipelines.database.outbox`)."""

    __tablename__ = "alert_jobs"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | done | failed
    created_at: Mapped[datetime] = mapped_column(DateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime())  # the lease
    attempts: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[datetime | None] = mapped_column(DateTime())
    alerts: Mapped[int | None] = mapped_column(Integer)  # how many were stored
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One post owed to a webhook: an alert's body, until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "webhook_id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    # No foreign key: a deleted webhook's deliveries stay, and stop.
    webhook_id: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)  # the JSON posted, the same bytes at every try
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed | ...
    created_at: Mapped[datetime] = mapped_column(DateTime())
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime())  # the lease
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime())  # or given up at
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class Operation(Base):
    """A joint operation as its proposer drafted it (its life is in ``operation_events``)."""

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. JO-7
    created_at: Mapped[datetime] = mapped_column(DateTime())
    key_name: Mapped[str] = mapped_column(String(64))  # who proposed it
    agency: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(3))  # none: the operator's
    regions: Mapped[str] = mapped_column(Text)  # JSON list of region ids
    periods: Mapped[str] = mapped_column(Text)  # JSON list of ISO dates (period starts)
    needs: Mapped[str] = mapped_column(Text)  # JSON {country: {shifts, by_agency}}
    effort_multiplier: Mapped[float] = mapped_column(Float)
    deadline: Mapped[datetime] = mapped_column(DateTime())


class OperationEvent(Base):
    """One step of a joint operation, numbered within it."""

    __tablename__ = "operation_events"
    __table_args__ = (UniqueConstraint("operation", "seq"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    operation: Mapped[int] = mapped_column(ForeignKey("operations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime())
    # proposed | pledged | declined | confirmed | expired | withdrawn | cancelled
    kind: Mapped[str] = mapped_column(String(16))
    key_name: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(3))
    detail: Mapped[str] = mapped_column(Text)  # JSON: pledged units and shifts, reason
