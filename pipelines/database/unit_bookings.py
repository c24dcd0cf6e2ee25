"""A unit's shifts across joint operations: never pledged beyond what it has in a period.

A pledge books a unit's shifts in an operation's periods. The same unit may be pledged to
several operations, but in any one period the shifts its country's standing pledges give
it in the open and confirmed operations (not the expired, withdrawn or cancelled) together
stay within its ``shifts_per_period``: two confirmed operations cannot both be kept by the
same shifts. :func:`booked_elsewhere` reads what the other operations hold, under a lock of
the pledging country (PostgreSQL: an advisory lock for the transaction; SQLite's write
transaction holds the database already), so two pledges of one unit to two operations at
the same moment cannot both pass; :func:`overbooking_problems` says where a pledge goes
beyond, by how much, and which operations hold the rest.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.operation_state import ENDED, OperationRecord, PledgedUnit
from crossplan.pipelines.database.operation_store import load
from crossplan.pipelines.database.schema import Operation
from crossplan.pipelines.errors import Problem

__all__ = ["Booked", "booked_elsewhere", "overbooking_problems"]

#: ``(unit_id, period)``: the other operations holding shifts of it then, and how many.
Booked = dict[tuple[str, str], list[tuple[str, int]]]


def _lock(con: Connection, party: str) -> None:
    """Queue the pledges of ``party``'s units until the transaction ends (PostgreSQL)."""
    if con.dialect.name == "postgresql":
        key = zlib.crc32(f"crossplan pledges of {party}".encode())
        con.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def booked_elsewhere(
    con: Connection, operation: OperationRecord, party: str, now: datetime
) -> Booked:
    """The shifts ``party``'s standing pledges hold in the other open and confirmed
    operations, in the periods of ``operation``, per unit and period."""
    _lock(con, party)
    others = load(con, sa.select(Operation).where(Operation.id != operation.row))
    booked: Booked = {}
    for other in others:
        common = set(other.periods) & set(operation.periods)
        if not common or party not in other.parties or other.status(now) in ENDED:
            continue
        for unit_id, unit in other.pledges().get(party, {}).items():
            for period in sorted(common):
                if unit.shifts.get(period, 0):
                    booked.setdefault((unit_id, period), []).append(
                        (other.operation_id, unit.shifts[period])
                    )
    return booked


def overbooking_problems(
    dataset: Dataset, pledged: Sequence[PledgedUnit], booked: Booked
) -> list[Problem]:
    """Where a pledge (its units as stored, :func:`~operation_rules.pledged_units`, once it
    kept every other rule) books a unit beyond its shifts."""
    units = dataset.resources.units if dataset.resources else ()
    have = {u.unit_id: u.shifts_per_period for u in units}
    problems = []
    for i, unit in enumerate(pledged):
        for period, shifts in unit.shifts.items():
            held = booked.get((unit.unit_id, period), [])
            taken = sum(n for _, n in held)
            if shifts and taken + shifts > have[unit.unit_id]:
                where = ", ".join(f"{n} to {op}" for op, n in held)
                free = max(have[unit.unit_id] - taken, 0)
                problems.append(Problem(
                    "request",
                    f"{shifts} shifts, but unit {unit.unit_id!r} has {have[unit.unit_id]} a "
                    f"period and {taken} of them are pledged in {period} ({where})",
                    f"pledge at most {free} of it then, or first lower its pledge to "
                    + " or ".join(op for op, _ in held),
                    f"units[{i}].shifts.{period}",
                ))  # fmt: skip
    return problems
