"""The audit trail: reloads, promotions and key changes, append-only in the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from pipelines.database.engine import Database
from pipelines.database.panel import iso, utcnow
from pipelines.database.schema import AuditEntry

__all__ = ["AuditRecord", "audit_trail", "record_event"]


@dataclass(frozen=True)
class AuditRecord:
    """One event: when, who (a key name, or ``cli:USER`` for the command line), what."""

    id: int
    at: str
    actor: str
    action: str
    detail: dict[str, Any]


def record_event(db: Database, actor: str, action: str, **detail: Any) -> None:
    """Append an event (``detail`` must not hold secrets: it is readable by admins)."""
    with db.write() as con:
        con.execute(
            sa.insert(AuditEntry).values(
                at=utcnow(),
                actor=actor[:64],
                action=action,
                detail=json.dumps(detail, sort_keys=True, default=str),
            )
        )


def audit_trail(db: Database, limit: int = 100, action: str | None = None) -> list[AuditRecord]:
    """The latest events first."""
    query = sa.select(AuditEntry.__table__).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with db.read() as con:
        rows = con.execute(query).all()
    return [
        AuditRecord(r.id, str(iso(r.at)), r.actor, r.action, json.loads(r.detail)) for r in rows
    ]
