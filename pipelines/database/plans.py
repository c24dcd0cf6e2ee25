"""The plan store: every plan the service made, append-only, in the ``plans`` table.

One plan is one row written in one transaction, so a crash mid-request leaves either the
whole plan or nothing. The database itself refuses updates and deletes (triggers on SQLite
and PostgreSQL, see :mod:`pipelines.database.schema`): the store is an audit trail. Every
replica of the service sharing one database sees every plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa

from crossplan.optimize.plan import group_operation_rows
from crossplan.pipelines.database.audit import append_event
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.schema import PlanRow

__all__ = ["PlanRecord", "PlanStore", "PlanSummary"]

_SUMMARY_COLUMNS = (
    PlanRow.plan_id,
    PlanRow.created_at,
    PlanRow.requester,
    PlanRow.status,
    PlanRow.objective,
    PlanRow.model_version,
    PlanRow.solver,
    PlanRow.solve_seconds,
    PlanRow.total_seconds,
    PlanRow.country,
    PlanRow.agency,
)


@dataclass(frozen=True)
class PlanSummary:
    """One line of the plan list."""

    plan_id: str
    created_at: str
    requester: str
    status: str
    objective: float | None
    model_version: str | None
    solver: str
    solve_seconds: float | None
    total_seconds: float
    country: str | None = None
    agency: str | None = None


@dataclass(frozen=True)
class PlanRecord:
    """A stored plan with what it was made from.

    Attributes
    ----------
    request
        The request body as received (after validation), as JSON text; never the caller's
        key.
    response
        The response body as sent.
    total_seconds
        Time from the request's arrival to the plan being ready, forecast included.
    data_as_of
        The as-of time of the panel planned on: the panel can be rebuilt as it was then.
    country, agency
        The requester's (``None``: an operator key); the plan was made on their view of the
        panel.
    countries
        Every country the plan involves (the requester's, those of the units it gives
        shifts, the parties of the joint operations it launches): the countries that may
        read it. (Plans stored before that rule name every country of their resources.)
    """

    plan_id: str
    created_at: str
    requester: str
    model_name: str | None
    model_version: str | None
    input_fingerprint: str
    status: str
    objective: float | None
    solver: str
    solve_seconds: float | None
    total_seconds: float
    request: str
    response: dict[str, Any]
    data_as_of: str | None = None
    country: str | None = None
    agency: str | None = None
    countries: tuple[str, ...] = ()


_RECORD_FIELDS = tuple(f.name for f in fields(PlanRecord))
_ENCODED = ("request", "response", "countries")


def _record(row: Any) -> PlanRecord:
    """A stored row (of every column of ``plans``) as its record."""
    values = {f: getattr(row, f) for f in _RECORD_FIELDS if f not in _ENCODED}
    values["countries"] = tuple((row.countries or "").split())
    values["request"] = row.request_json
    values["response"] = _grouped(json.loads(row.response_json))
    return PlanRecord(**values)


def _grouped(response: dict[str, Any]) -> dict[str, Any]:
    """``response`` with its joint operations one entry per operation: plans stored before
    they were grouped give one row per operation and period."""
    if "joint_operations" in response:
        response["joint_operations"] = group_operation_rows(response["joint_operations"])
    return response


def _countries(countries: tuple[str, ...]) -> str | None:
    """Stored between spaces, `` GRC MKD ``, so that one country matches as `` GRC ``."""
    return f" {' '.join(sorted(countries))} " if countries else None


class PlanStore:
    """Plans in the shared database; safe to share between threads, processes and replicas.

    Parameters
    ----------
    db
        The shared database (migrated).
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: PlanRecord, *, by: str | None = None, **audit: Any) -> None:
        """Append one plan, atomically; with ``by`` (who asked), its ``plan`` event in the
        audit trail, with ``audit`` as its detail, in the same transaction: a plan is never
        stored without its audit line, nor the line without the plan."""
        # Serialise before the transaction so a bad value cannot interrupt it.
        row = {
            **{f: getattr(record, f) for f in _RECORD_FIELDS if f not in _ENCODED},
            "countries": _countries(record.countries),
            "request_json": record.request,
            "response_json": json.dumps(record.response, separators=(",", ":"), allow_nan=False),
        }
        with self.db.write() as con:
            con.execute(sa.insert(PlanRow).values(**row))
            if by is not None:
                append_event(con, by, "plan", plan_id=record.plan_id, **audit)

    def get(self, plan_id: str) -> PlanRecord | None:
        """The plan with this id, or ``None``."""
        with self.db.read() as con:
            found = con.execute(sa.select(PlanRow).where(PlanRow.plan_id == plan_id)).first()
        return None if found is None else _record(found)

    def recent(
        self,
        limit: int = 50,
        requester: str | None = None,
        country: str | None = None,
        readable: Callable[[PlanRecord], bool] | None = None,
    ) -> list[PlanSummary]:
        """The latest plans first, optionally only those of one requester; with ``country``,
        only the plans that country may read (of its keys, or involving it), and of those
        of other countries' keys only the ones ``readable`` accepts (the caller's reading of
        the plan itself)."""
        # Read whole (the body decides) only where a reader of a country is to be checked.
        whole = country is not None and readable is not None
        query = sa.select(*((PlanRow,) if whole else _SUMMARY_COLUMNS))
        query = query.order_by(PlanRow.seq.desc())
        if requester:
            query = query.where(PlanRow.requester == requester)
        if country is not None:
            query = query.where(
                sa.or_(PlanRow.country == country, PlanRow.countries.contains(f" {country} "))
            )
        if country is None or readable is None:
            with self.db.read() as con:
                return [PlanSummary(*r) for r in con.execute(query.limit(limit)).all()]
        found: list[PlanSummary] = []
        with self.db.read() as con:
            while len(found) < limit:
                rows = con.execute(query.limit(limit)).all()
                for row in rows:
                    if row.country == country or readable(_record(row)):
                        found.append(PlanSummary(*(getattr(row, c.key) for c in _SUMMARY_COLUMNS)))
                if len(rows) < limit:
                    break
                query = query.where(PlanRow.seq < rows[-1].seq)
        return found[:limit]

    def count(self) -> int:
        with self.db.read() as con:
            return int(con.execute(sa.select(sa.func.count()).select_from(PlanRow)).scalar_one())
