"""The alerts table: every alert raised, append-only, with the reader it was raised for.

Two kinds share it. Risk alerts: :mod:`serving.alerts` detects them after a submission, on
each reader's view of the panel (a region, category and period, the value and the forecast
row it exceeded). Joint operations' steps: :mod:`pipelines.database.operations` raises one for
each party's agencies when an operation is proposed, pledged to, confirmed, ... (the
operation's step in ``operation``; the risk alert's fields are then ``None``). This module
stores and lists them. An alert keeps the label of its reader (:func:`audience_label`) as its
audience, so that each reader lists only its own; alerts stored before they had an audience
are the operator's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.panel import iso
from crossplan.pipelines.database.schema import Alert

__all__ = [
    "OPERATOR_LABEL",
    "AlertAudience",
    "AlertRecord",
    "append_alerts",
    "audience_label",
    "list_alerts",
    "store_alerts",
]

#: The operator's audience label.
OPERATOR_LABEL = "*"


def audience_label(country: str | None, agency: str | None) -> str:
    """How alerts are stored per reader: ``*`` for the operator (no country), else
    ``COUNTRY/agency`` (an agency's keys share their alerts)."""
    return OPERATOR_LABEL if country is None else f"{country}/{agency or ''}"


class AlertAudience(Protocol):
    """Whom alerts are listed for (:class:`serving.sharing.Audience` is one)."""

    @property
    def label(self) -> str:
        """How its alerts are stored."""

    @property
    def operator(self) -> bool:
        """Whether it is the operator, who also reads the alerts stored without an audience."""


@dataclass(frozen=True)
class AlertRecord:
    """One alert, as ``GET /alerts`` and the webhooks send it.

    Attributes
    ----------
    id
        ``None`` until it is stored.
    submission_id, region_id, country, category, period, value, threshold
        A risk alert's: the submission that raised it, where and what; ``None`` for a
        joint operation's step.
    exceeded
        A risk alert's forecast row that it exceeded.
    audience
        The label of the reader it was raised for (:func:`audience_label`).
    operation
        A joint operation's step, as its parties read it (``operation_id``, ``event``,
        ``status``, ...); ``None`` for a risk alert.
    """

    id: int | None
    created_at: str
    submission_id: int | None
    kind: str
    region_id: str | None
    country: str | None
    category: str | None
    period: str | None
    value: float | None
    threshold: float | None
    exceeded: dict[str, Any] | None
    audience: str
    operation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The alert as the API and webhooks send it (its audience is the reader's own)."""
        out = dict(vars(self))
        del out["audience"]
        return out


def store_alerts(db: Database, alerts: list[AlertRecord]) -> list[AlertRecord]:
    """Append the alerts; the stored ones, with their ids."""
    with db.write() as con:
        return append_alerts(con, alerts)


def append_alerts(
    con: Connection, alerts: Sequence[AlertRecord], operation: int | None = None
) -> list[AlertRecord]:
    """Append the alerts inside the caller's transaction (they commit with the act that
    raised them); the stored ones, with their ids. ``operation``: the row of the joint
    operation whose step they tell."""
    stored = []
    for a in alerts:
        new_id = con.execute(
            sa.insert(Alert)
            .values(
                created_at=pd.Timestamp(a.created_at).tz_convert(None).to_pydatetime(),
                submission_id=a.submission_id,
                kind=a.kind,
                region_id=a.region_id,
                country=a.country,
                category=a.category,
                period=None if a.period is None else date.fromisoformat(a.period),
                value=a.value,
                threshold=a.threshold,
                exceeded=None if a.exceeded is None else json.dumps(a.exceeded, sort_keys=True),
                audience=a.audience,
                operation=operation,
                detail=None if a.operation is None else json.dumps(a.operation, sort_keys=True),
            )
            .returning(Alert.id)
        ).scalar_one()
        stored.append(dataclasses.replace(a, id=int(new_id)))
    return stored


def list_alerts(db: Database, audience: AlertAudience, limit: int = 100) -> list[AlertRecord]:
    """The latest alerts raised for ``audience`` first (the operator's include those raised
    before alerts had an audience)."""
    query = sa.select(Alert).order_by(Alert.id.desc()).limit(limit)
    if audience.operator:
        query = query.where(sa.or_(Alert.audience == audience.label, Alert.audience.is_(None)))
    else:
        query = query.where(Alert.audience == audience.label)
    with db.read() as con:
        rows = con.execute(query).all()
    return [
        AlertRecord(
            r.id,
            str(iso(r.created_at)),
            r.submission_id,
            r.kind,
            r.region_id,
            r.country,
            r.category,
            _day(r.period),
            r.value,
            r.threshold,
            None if r.exceeded is None else json.loads(r.exceeded),
            r.audience or audience.label,
            None if r.detail is None else json.loads(r.detail),
        )
        for r in rows
    ]


def _day(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
