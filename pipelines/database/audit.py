"""The audit trail: every act on the shared database, append-only.

An event says when, who (a key name, or ``cli:USER`` for the command line), with which
agency and country, what (the action) and its detail. Acts that write the database record
their event in the same transaction (:func:`append_event`), so an act and its event commit
together or not at all; the others call :func:`record_event`.

The actor's agency and country ride in the stored detail under :data:`_BY` keys (the
``audit`` table has no columns for them, and a schema change is not worth two fields);
:func:`audit_trail` lifts them out again, so ``detail`` is what the caller recorded. A
country's administrators read the events of that country: those whose actor is of it, and
those that name it (``audit_trail(country=...)``).

Refused requests (a missing or unknown key, a refused submission) are audited too, so that a
caller who probes leaves a trace; :class:`RefusalLimit` bounds how fast they can grow the
trail (:func:`record_refusal`).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.operation_state import KINDS
from crossplan.pipelines.database.panel import iso, utcnow
from crossplan.pipelines.database.schema import AuditEntry

__all__ = [
    "ACTIONS",
    "AuditRecord",
    "RefusalLimit",
    "append_event",
    "audit_actions",
    "audit_trail",
    "record_event",
    "record_refusal",
]

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
    "auth_refused",
    "submission_refused",
    "refusals_suppressed",
    "quarantine",
    *(f"operation_{kind}" for kind in KINDS),  # a joint operation's steps
)
_BY = ("actor_agency", "actor_country")
# Sources named in a line of suppressed refusals; the others are counted together.
_SOURCES_NAMED = 20


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


def audit_trail(
    db: Database, limit: int = 100, action: str | None = None, country: str | None = None
) -> list[AuditRecord]:
    """The latest events first; with ``country`` (ISO 3166-1 alpha-3), only the events of
    that country: those whose actor is of it, and those whose detail names it (a value or a
    key equal to the code, e.g. ``country``, ``countries`` of a plan)."""
    query = sa.select(AuditEntry.__table__).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if country is not None:
        # Stored as JSON, the actor's country too: a string equal to the code, quotes included.
        code = json.dumps(str(country))
        query = query.where(AuditEntry.detail.contains(code, autoescape=True))
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


class RefusalLimit:
    """How many refused requests the audit trail takes a minute.

    At most ``per_source`` lines from one source (a key's name, else the client's address)
    and ``per_minute`` in all; the others are counted, and their count (per source, the
    busiest named) is one ``refusals_suppressed`` line, written with the first refusal of a
    later minute. A caller who probes leaves a trace and cannot grow the trail faster than
    ``per_minute + 1`` lines a minute. One per process, shared by its threads.
    """

    def __init__(self, per_source: int = 5, per_minute: int = 60) -> None:
        self.per_source = per_source
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._minute: datetime | None = None
        self._written: Counter[str] = Counter()
        self._suppressed: Counter[str] = Counter()

    def admit(self, source: str, at: datetime) -> tuple[bool, dict[str, Any] | None]:
        """Whether a refusal from ``source`` at ``at`` gets its line, and the detail of the
        line of an earlier minute's suppressed refusals to write first (or ``None``)."""
        minute = at.replace(second=0, microsecond=0)
        summary = None
        with self._lock:
            if self._minute is None or minute > self._minute:
                if self._suppressed:
                    summary = _suppressed(self._minute, self._suppressed)
                self._minute, self._written, self._suppressed = minute, Counter(), Counter()
            if self._written[source] < self.per_source and self._written.total() < self.per_minute:
                self._written[source] += 1
                return True, summary
            # The counter is bounded too: many sources beyond those already counted are one.
            many = len(self._suppressed) >= 10 * _SOURCES_NAMED
            self._suppressed["other" if many and source not in self._suppressed else source] += 1
            return False, summary


def _suppressed(minute: datetime | None, counts: Counter[str]) -> dict[str, Any]:
    busiest = dict(counts.most_common(_SOURCES_NAMED))
    return {
        "minute": iso(minute),
        "suppressed": counts.total(),
        "sources": busiest,
        "other_sources": len(counts) - len(busiest),
    }


# The limit of each open database of this process (see record_refusal).
_LIMITS: weakref.WeakKeyDictionary[Database, RefusalLimit] = weakref.WeakKeyDictionary()
_LIMITS_LOCK = threading.Lock()


def record_refusal(
    db: Database,
    action: str,
    *,
    source: str,
    actor: str | None = None,
    actor_agency: str | None = None,
    actor_country: str | None = None,
    at: datetime | None = None,
    limit: RefusalLimit | None = None,
    **detail: Any,
) -> bool:
    """Audit a refused request (``auth_refused``, ``submission_refused``) within ``limit``
    (default: one :class:`RefusalLimit` per database handle of this process); whether its
    own line was written.

    ``source`` is whom ``limit`` counts (a key's name, else the client's address);
    ``actor`` the key's name when it is known. ``detail`` says what was refused (path,
    status, number of problems) and must hold neither the request's body nor a presented
    key.
    """
    if limit is None:
        with _LIMITS_LOCK:
            limit = _LIMITS.setdefault(db, RefusalLimit())
    moment = at or utcnow()
    write, summary = limit.admit(source, moment)
    if not write and summary is None:
        return False
    with db.write() as con:
        if summary is not None:
            append_event(con, "service", "refusals_suppressed", at=moment, **summary)
        if write:
            append_event(
                con,
                actor or "-",
                action,
                actor_agency=actor_agency,
                actor_country=actor_country,
                at=moment,
                **detail,
            )
    return write


def audit_actions(db: Database) -> list[str]:
    """Every action crossplan records or the trail holds, sorted."""
    with db.read() as con:
        stored = con.execute(sa.select(AuditEntry.action).distinct()).scalars().all()
    return sorted({*ACTIONS, *stored})


def latest_event_id(db: Database, actions: Sequence[str]) -> int:
    """Id of the latest event of one of ``actions`` (0 when there is none): replicas watch
    the promotions and reloads of the champion this way."""
    with db.read() as con:
        found = con.execute(
            sa.select(sa.func.max(AuditEntry.id)).where(AuditEntry.action.in_(list(actions)))
        ).scalar()
    return int(found or 0)
