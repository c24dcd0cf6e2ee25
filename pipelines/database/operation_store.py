"""Reading and appending a joint operation's steps: the low level of
:mod:`pipelines.database.operations`.

:func:`locked` reads an operation with its steps and locks its row until the transaction
ends (PostgreSQL ``SELECT ... FOR UPDATE``; on SQLite the write transaction holds the
database's lock already), so that writes to one operation queue. :func:`record` appends new
steps in the caller's transaction, each with its line in the audit trail and an alert for
the operator and for each agency with keys of a party country, the operation shown to each
as it may read it (:meth:`~pipelines.database.operation_state.OperationRecord.to_dict`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.database.alerts import (
    OPERATOR_LABEL,
    AlertRecord,
    append_alerts,
    audience_label,
)
from crossplan.pipelines.database.audit import append_event
from crossplan.pipelines.database.operation_rules import Actor
from crossplan.pipelines.database.operation_state import Need, OperationRecord, Step
from crossplan.pipelines.database.outbox import Posts
from crossplan.pipelines.database.panel import iso
from crossplan.pipelines.database.schema import ApiKeyRow, Operation, OperationEvent

__all__ = ["Outcome", "folded", "load", "locked", "record"]


@dataclass(frozen=True)
class Outcome:
    """What an act wrote: the operation after it, its new steps and the alerts they raised."""

    operation: OperationRecord
    steps: tuple[Step, ...]
    alerts: tuple[AlertRecord, ...] = field(default=())


def folded(
    operation: OperationRecord, actor: Actor, now: datetime,
    steps: Sequence[tuple[str, dict[str, Any]]],
) -> OperationRecord:  # fmt: skip
    """The operation with ``steps`` done by ``actor`` at ``now``."""
    seq = len(operation.steps)
    new = tuple(
        Step(seq + i + 1, now, kind, actor.key_name, actor.agency, actor.country, detail)
        for i, (kind, detail) in enumerate(steps)
    )
    return dataclasses.replace(operation, steps=operation.steps + new)


def record(
    con: Connection, operation: OperationRecord, steps: Sequence[tuple[str, dict[str, Any]]],
    actor: Actor, now: datetime, posts: Posts | None = None,
) -> Outcome:  # fmt: skip
    """Append ``steps``, their audit lines and their alerts, and owe the alerts' posts
    (``posts``), in the caller's transaction."""
    after = folded(operation, actor, now, steps)
    new = after.steps[len(operation.steps) :]
    audiences = _audiences(con, after.parties)
    alerts: list[AlertRecord] = []
    for step in new:
        con.execute(sa.insert(OperationEvent).values(
            operation=after.row, seq=step.seq, at=now, kind=step.kind, key_name=actor.key_name,
            agency=actor.agency, country=actor.country,
            detail=json.dumps(dict(step.detail), sort_keys=True),
        ))  # fmt: skip
        shown = after.to_dict(now, None)["events"][step.seq - 1]
        append_event(con, actor.key_name, f"operation_{step.kind}", actor_agency=actor.agency,
                     actor_country=actor.country, at=now, operation_id=after.operation_id,
                     countries=list(after.parties), seq=step.seq, party=shown["party"],
                     shifts=shown["shifts"], reason=shown["reason"])  # fmt: skip
        raised = [_alert(after, step, label, country, now) for label, country in audiences]
        alerts += append_alerts(con, raised, operation=after.row)
    if posts is not None:
        posts.owe(con, alerts, now)
    return Outcome(after, tuple(new), tuple(alerts))


def _audiences(con: Connection, parties: Sequence[str]) -> list[tuple[str, str | None]]:
    """Whom an operation's steps are told: the operator, and each agency with keys of a
    party country (its audience label, and its country)."""
    rows = con.execute(
        sa.select(ApiKeyRow.country, ApiKeyRow.agency)
        .where(ApiKeyRow.country.in_(list(parties)))
        .distinct()
    ).all()
    agencies = sorted({(audience_label(r.country, r.agency), r.country) for r in rows})
    return [(OPERATOR_LABEL, None), *agencies]


def _alert(
    operation: OperationRecord, step: Step, label: str, country: str | None, now: datetime
) -> AlertRecord:
    """The alert of ``step`` for one audience, with the operation as that reader reads it."""
    shown = operation.to_dict(now, country)
    told = {k: shown[k] for k in ("operation_id", "status", "regions", "periods", "deadline")}
    return AlertRecord(
        id=None, created_at=str(iso(now)), submission_id=None, kind=f"operation_{step.kind}",
        region_id=None, country=None, category=None, period=None, value=None, threshold=None,
        exceeded=None, audience=label, operation={**told, **shown["events"][step.seq - 1]},
    )  # fmt: skip


def locked(con: Connection, operation_id: str, *, lock: bool = True) -> OperationRecord | None:
    """The operation with its steps, its row locked until the transaction ends (on SQLite
    the write transaction holds the database's lock already); ``lock=False`` to read only."""
    query = sa.select(Operation).where(Operation.operation_id == operation_id)
    found = load(con, query.with_for_update() if lock else query)
    return found[0] if found else None


def load(con: Connection, query: sa.Select[Any]) -> list[OperationRecord]:
    rows = con.execute(query).all()
    if not rows:
        return []
    events = con.execute(
        sa.select(OperationEvent)
        .where(OperationEvent.operation.in_([r.id for r in rows]))
        .order_by(OperationEvent.operation, OperationEvent.seq)
    ).all()
    steps: dict[int, list[Step]] = {}
    for e in events:
        steps.setdefault(e.operation, []).append(
            Step(e.seq, e.at, e.kind, e.key_name, e.agency, e.country, json.loads(e.detail))
        )
    return [
        OperationRecord(
            r.id,
            r.operation_id,
            r.created_at,
            r.key_name,
            r.agency,
            r.country,
            tuple(json.loads(r.regions)),
            tuple(json.loads(r.periods)),
            {c: Need.from_dict(n) for c, n in json.loads(r.needs).items()},
            r.effort_multiplier,
            r.deadline,
            tuple(steps.get(r.id, ())),
        )
        for r in rows
    ]
