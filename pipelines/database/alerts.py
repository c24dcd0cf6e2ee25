"""The alerts table: every risk alert raised, append-only, with the reader it was raised for.

:mod:`serving.alerts` detects alerts, on each reader's view of the panel; this module stores
and lists them. An alert keeps the label of that reader (:attr:`serving.sharing.Audience.label`)
as its audience, so that each reader lists only its own; alerts stored before they had an
audience are the operator's.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa

from pipelines.database.engine import Database
from pipelines.database.panel import iso
from pipelines.database.schema import Alert

__all__ = ["AlertAudience", "AlertRecord", "list_alerts", "store_alerts"]


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
    exceeded
        The forecast row it exceeded.
    audience
        The label of the reader it was raised for (:class:`AlertAudience`).
    """

    id: int | None
    created_at: str
    submission_id: int
    kind: str
    region_id: str
    country: str
    category: str
    period: str
    value: float
    threshold: float
    exceeded: dict[str, Any]
    audience: str

    def to_dict(self) -> dict[str, Any]:
        """The alert as the API and webhooks send it (its audience is the reader's own)."""
        out = dict(vars(self))
        del out["audience"]
        return out


def store_alerts(db: Database, alerts: list[AlertRecord]) -> list[AlertRecord]:
    """Append the alerts; the stored ones, with their ids."""
    stored = []
    with db.write() as con:
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
                    period=date.fromisoformat(a.period),
                    value=a.value,
                    threshold=a.threshold,
                    exceeded=json.dumps(a.exceeded, sort_keys=True),
                    audience=a.audience,
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
            r.period.isoformat() if hasattr(r.period, "isoformat") else str(r.period),
            r.value,
            r.threshold,
            json.loads(r.exceeded),
            r.audience or audience.label,
        )
        for r in rows
    ]
