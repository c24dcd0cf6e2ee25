"""The audit trail: every act on the shared database, append-only.

An event says when, who (a key name, or ``cli:USER`` for the command line), with which
agency and country, what (the action) and its detail. Acts that write the database record
their event in the same transaction (:func:`append_event`), so an act and its event commit
together or not at all; the others call :func:`record_event`.

The actor's agency and country ride in the stored detail under :data:`_BY` keys (the
``audit`` table has no columns for them, and a schema change is not worth two fields);
:func:`audit_trail` lifts them out again, so ``detail`` is what the caller recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.database.engine import Database
from pipelines.database.panel import iso, utcnow
from pipelines.database.schema import AuditEntry

__all__ = ["ACTIONS", "AuditRecord", "append_event", "audit_actions", "audit_trail", "record_event"]

#: The actions crossplan records (others may appear: :func:`audit_actions` lists those stored).
ACTIONS = (
    "submission",
    "revert",
    "import",
    "export",
    "reload",
    "promotion",
    "key_added",
    "key_replaced",
    "key_revoked",
    "webhook_added",
)
_BY = ("actor_agency", "actor_country")


@dataclass(frozen=True)
class AuditRecord:
    """One event: when, who (a key name, or ``cli:USER`` for the command line), what.

    Attributes
    ----------
    agency, country
        The actor's agency and country, when known (``None`` for the operator, and for
        events recorded before they were kept).
    """

    id: int
    at: str
    actor: str
    action: str
    detail: dict[str, Any]
    agency: str | None = None
    country: str | None = None


def append_event(
    con: Connection,
    actor: str,
    action: str,
    *,
    actor_agency: str | None = None,
    actor_country: str | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> None:
    """Append an event inside the caller's transaction (it commits with the act it records).

    ``detail`` must not hold secrets: admins read it.
    """
    by = {"actor_agency": actor_agency, "actor_country": actor_country}
    stored = {**detail, **{k: v for k, v in by.items() if v is not None}}
    con.execute(
        sa.insert(AuditEntry).values(
            at=at or utcnow(),
            actor=actor[:64],
            action=action[:32],
            detail=json.dumps(stored, sort_keys=True, default=str),
        )
    )


def record_event(
    db: Database,
    actor: str,
    action: str,
    *,
    actor_agency: str | None = None,
    actor_country: str | None = None,
    **detail: Any,
) -> None:
    """Append an event in a transaction of its own (see :func:`append_event`)."""
    with db.write() as con:
        append_event(
            con, actor, action, actor_agency=actor_agency, actor_country=actor_country, **detail
        )


def audit_trail(db: Database, limit: int = 100, action: str | None = None) -> list[AuditRecord]:
    """The latest events first."""
    query = sa.select(AuditEntry.__table__).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with db.read() as con:
        rows = con.execute(query).all()
    records = []
    for r in rows:
        detail = json.loads(r.detail)
        agency, country = (detail.pop(k, None) for k in _BY)
        records.append(
            AuditRecord(r.id, str(iso(r.at)), r.actor, r.action, detail, agency, country)
        )
    return records


def audit_actions(db: Database) -> list[str]:
    """Every action crossplan records or the trail holds, sorted."""
    with db.read() as con:
        stored = con.execute(sa.select(AuditEntry.action).distinct()).scalars().all()
    return sorted({*ACTIONS, *stored})
