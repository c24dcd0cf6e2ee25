"""Joint operations in the shared database: proposed by a host, pledged to by its partners,
confirmed once every need is pledged.

A planner of a party country (or the operator) proposes an operation: regions, periods,
each party's need, an effort multiplier and a deadline
(:mod:`~pipelines.database.operation_rules` says what a proposal must keep). Each party then
pledges units and shifts (a new pledge of its agency replaces the earlier one) or declines;
the pledge that meets the last need confirms the operation, in the same transaction. Until
then the proposer's country may withdraw it, and any party may cancel it, with a reason,
confirmed or not; at its deadline an operation not confirmed expires (:func:`expire_due`).
Nothing happens to an operation once it is confirmed, expired, withdrawn or cancelled, but
the cancel of a confirmed one.

Every step is an event of ``operation_events`` (append-only, numbered within its
operation); the status is derived from them (:mod:`~pipelines.database.operation_state`).
Each act writes, in one transaction, its events, their lines in the audit trail, an alert
for the operator and each agency with keys of a party country, and (given ``posts``) the
posts of those alerts owed to the audiences' webhooks, which the service's outbox sends; it
returns what it wrote (:class:`Outcome`). Writes to one operation
queue behind a lock of its row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's write lock),
so two replicas acting at once leave one consistent history.

A non-party learns nothing of an operation, not even that it exists: it is listed no
operation, and every act on one is :class:`~pipelines.errors.OperationNotFoundError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.operation_rules import (
    Actor,
    Proposal,
    UnitPledge,
    default_deadline,
    pledge_problems,
    pledged_units,
    proposal_problems,
)
from crossplan.pipelines.database.operation_state import ENDED, OperationRecord, PledgedUnit
from crossplan.pipelines.database.operation_store import Outcome, folded, load, locked, record
from crossplan.pipelines.database.outbox import Posts
from crossplan.pipelines.database.panel import utcnow
from crossplan.pipelines.database.schema import Operation, OperationEvent
from crossplan.pipelines.database.unit_bookings import booked_elsewhere, overbooking_problems
from crossplan.pipelines.errors import (
    CandidateIdError,
    DataValidationError,
    OperationConflictError,
    OperationNotFoundError,
    OperationRefusedError,
    Problem,
)

__all__ = [
    "ConfirmedOperation",
    "Outcome",
    "cancel",
    "confirmed_operations",
    "decline",
    "expire_due",
    "get_operation",
    "list_operations",
    "pledge",
    "propose",
    "withdraw",
]

_GENERATED = re.compile(r"^JO-(\d+)$")
_MAX_REASON = 500


@dataclass(frozen=True)
class ConfirmedOperation:
    """A confirmed operation within the periods asked (:func:`confirmed_operations`).

    Attributes
    ----------
    periods
        The periods asked that it runs in (ISO dates).
    pledges
        Per party country, its pledged units with their shifts in those periods.
    needs
        Per party country, the shifts it must pledge in every period.
    """

    operation_id: str
    regions: tuple[str, ...]
    periods: tuple[str, ...]
    effort_multiplier: float
    parties: tuple[str, ...]
    pledges: dict[str, tuple[PledgedUnit, ...]]
    needs: dict[str, int]

    @classmethod
    def of(cls, operation: OperationRecord, runs: Sequence[str]) -> ConfirmedOperation:
        """``operation`` in ``runs`` (ISO dates), with the pledges made to it so far."""
        pledges = {
            party: tuple(
                PledgedUnit(u.unit_id, u.agency, {p: u.shifts.get(p, 0) for p in runs})
                for _, u in sorted(units.items())
            )
            for party, units in sorted(operation.pledges().items())
        }
        needs = {c: n.shifts for c, n in sorted(operation.needs.items())}
        return cls(operation.operation_id, operation.regions, tuple(runs),
                   operation.effort_multiplier, operation.parties, pledges, needs)  # fmt: skip


def propose(
    db: Database, dataset: Dataset, actor: Actor, proposal: Proposal, *,
    now: datetime | None = None, posts: Posts | None = None,
) -> Outcome:  # fmt: skip
    """Store a new operation (see the module's description); its proposal event.

    Raises
    ------
    OperationRefusedError
        The actor is no planner, or its country is not a party.
    DataValidationError
        Every rule the proposal breaks, located at its field.
    OperationConflictError
        The operation id asked for is taken, by a stored operation or (a
        :class:`CandidateIdError`) a candidate of the resources.
    """
    now = now or utcnow()
    if not actor.planner:
        raise OperationRefusedError(f"the key of '{actor.key_name}' may not propose operations "
                                    "— fix: ask a planner of your agency")  # fmt: skip
    if not actor.operator and actor.country not in proposal.needs:
        raise OperationRefusedError(
            f"a planner of {actor.country} proposes operations {actor.country} is party to — "
            f"fix: add the need of {actor.country}"
        )
    problems = proposal_problems(dataset, proposal, actor, now)
    if problems:
        raise DataValidationError(problems)
    periods = sorted(p.isoformat() for p in proposal.periods)
    deadline = proposal.deadline or default_deadline(proposal.periods, dataset.frequency, now)
    joint = dataset.resources.joint_operations if dataset.resources else ()
    candidates = {j.operation_id for j in joint}
    if proposal.operation_id in candidates:  # a generated id never is: _next_id skips them
        raise CandidateIdError(
            f"{proposal.operation_id} is a candidate operation of the resources "
            "(resources.json), and a stored operation of its id would take its place in every "
            "plan — fix: choose another id, or leave it out to get the next one"
        )
    with db.write("operations") as con:
        operation_id = proposal.operation_id or _next_id(con, candidates)
        if con.execute(
            sa.select(Operation.id).where(Operation.operation_id == operation_id)
        ).first():
            raise OperationConflictError(f"operation {operation_id} exists — fix: choose "
                                         "another id, or leave it out to get the next one")  # fmt: skip
        needs = {c: n.to_dict() for c, n in sorted(proposal.needs.items())}
        row = con.execute(
            sa.insert(Operation)
            .values(
                operation_id=operation_id,
                created_at=now,
                key_name=actor.key_name,
                agency=actor.agency,
                country=actor.country,
                regions=json.dumps(list(proposal.regions)),
                periods=json.dumps(periods),
                needs=json.dumps(needs),
                effort_multiplier=proposal.effort_multiplier,
                deadline=deadline,
            )
            .returning(Operation.id)
        ).scalar_one()
        operation = load(con, sa.select(Operation).where(Operation.id == row))[0]
        detail = {"candidate": proposal.candidate} if proposal.candidate else {}
        return record(con, operation, [("proposed", detail)], actor, now, posts)


def pledge(
    db: Database, dataset: Dataset, actor: Actor, operation_id: str, units: Sequence[UnitPledge],
    *, party: str | None = None, now: datetime | None = None, posts: Posts | None = None,
) -> Outcome:  # fmt: skip
    """Pledge units to an operation for the actor's country (the operator: for ``party``, or
    the units' country); it is confirmed by the pledge that meets the last need.

    Raises
    ------
    OperationNotFoundError, OperationRefusedError, OperationConflictError
        Not a party's; not a planner's; not open, or the party declined.
    DataValidationError
        Every rule the pledge breaks, located at its field.
    """
    now = now or utcnow()
    with db.write() as con:
        operation = _open(con, operation_id, actor, now, "pledge to")
        party = _party(dataset, operation, actor, party, units)
        if party in operation.declined():
            raise OperationConflictError(f"{party} declined {operation_id}; a party that "
                                         "declined pledges nothing to it")  # fmt: skip
        problems = pledge_problems(dataset, operation, party, units, actor)
        if problems:
            raise DataValidationError(problems)
        pledged = pledged_units(dataset, operation, units)
        booked = booked_elsewhere(con, operation, party, now)
        problems = overbooking_problems(dataset, pledged, booked)
        if problems:
            raise DataValidationError(problems)
        steps = [("pledged", {"party": party, "units": [u.to_dict() for u in pledged]})]
        after = folded(operation, actor, now, steps)
        if after.needs_met():
            steps.append(("confirmed", {}))
        return record(con, operation, steps, actor, now, posts)


def decline(
    db: Database, actor: Actor, operation_id: str, *, reason: str | None = None,
    party: str | None = None, now: datetime | None = None, posts: Posts | None = None,
) -> Outcome:  # fmt: skip
    """Decline an operation for the actor's country (the operator: for ``party``); it can
    then not be confirmed. A party declines once, and not after pledging (it cancels)."""
    now = now or utcnow()
    with db.write() as con:
        operation = _open(con, operation_id, actor, now, "decline")
        party = party if actor.operator else _own(actor, party)
        if party not in operation.parties:
            raise DataValidationError([Problem("request", f"{party or 'no country'} is not "
                                               f"party to {operation_id}", "name one of "
                                               + ", ".join(operation.parties), "party")])  # fmt: skip
        if party in operation.declined():
            raise OperationConflictError(f"{party} has declined {operation_id} already")
        if party in operation.pledges():
            raise OperationConflictError(f"{party} pledged to {operation_id}; a pledge is not "
                                         "declined — fix: cancel the operation with a reason")  # fmt: skip
        return record(
            con, operation, [("declined", _reason(reason, party=party))], actor, now, posts
        )


def withdraw(
    db: Database, actor: Actor, operation_id: str, *, reason: str | None = None,
    now: datetime | None = None, posts: Posts | None = None,
) -> Outcome:  # fmt: skip
    """Withdraw an open operation: by a planner of the proposer's country, or the operator."""
    now = now or utcnow()
    with db.write() as con:
        operation = _open(con, operation_id, actor, now, "withdraw")
        if not actor.operator and actor.country != operation.country:
            raise OperationRefusedError(
                f"only {operation.country or 'the operator'}, which proposed {operation_id}, "
                "withdraws it — fix: cancel it, with a reason"
            )
        return record(con, operation, [("withdrawn", _reason(reason))], actor, now, posts)


def cancel(
    db: Database, actor: Actor, operation_id: str, *, reason: str,
    now: datetime | None = None, posts: Posts | None = None,
) -> Outcome:  # fmt: skip
    """Call off an open or confirmed operation, by a planner of any party, with a reason."""
    now = now or utcnow()
    if not reason or not reason.strip():
        raise DataValidationError([Problem("request", "no reason", "say why it is called off",
                                           "reason")])  # fmt: skip
    with db.write() as con:
        operation = _visible(con, operation_id, actor)
        status = operation.status(now)
        _may_act(actor, operation_id, "cancel")
        if status in ENDED:
            raise OperationConflictError(f"{operation_id} is {status}; nothing more happens to it")
        return record(con, operation, [("cancelled", _reason(reason))], actor, now, posts)


def expire_due(
    db: Database, *, now: datetime | None = None, posts: Posts | None = None
) -> list[Outcome]:
    """Write the expiry of every operation whose deadline has passed unconfirmed; each with
    its audit line and alerts, in a transaction of its own."""
    now = now or utcnow()
    done = sa.select(OperationEvent.operation).where(OperationEvent.kind.in_(("confirmed", *ENDED)))
    due = sa.select(Operation.operation_id).where(
        Operation.deadline <= now, Operation.id.not_in(done)
    )
    with db.read() as con:
        ids = con.execute(due.order_by(Operation.id)).scalars().all()
    outcomes = []
    service = Actor("service")
    for operation_id in ids:
        with db.write() as con:
            operation = locked(con, operation_id)
            if (
                operation is not None
                and operation.status(now) == "expired"
                and not any(s.kind == "expired" for s in operation.steps)
            ):
                outcomes.append(record(con, operation, [("expired", {})], service, now, posts))
    return outcomes


def list_operations(
    db: Database, reader: str | None, *, status: str | None = None, now: datetime | None = None
) -> list[OperationRecord]:
    """The operations ``reader`` (a country; ``None``: the operator) is party to, newest
    first; with ``status``, only those in it."""
    now = now or utcnow()
    with db.read() as con:
        found = load(con, sa.select(Operation).order_by(Operation.id.desc()))
    return [
        o for o in found
        if (reader is None or reader in o.parties) and status in (None, o.status(now))
    ]  # fmt: skip


def get_operation(db: Database, reader: str | None, operation_id: str) -> OperationRecord:
    """One operation ``reader`` is party to (:class:`OperationNotFoundError` otherwise)."""
    with db.read() as con:
        return _visible(con, operation_id, Actor("-", reader), lock=False)


def confirmed_operations(
    db: Database, periods: Iterable[date | str | pd.Timestamp] | None = None
) -> list[ConfirmedOperation]:
    """The confirmed operations (not cancelled since) that run in any of ``periods`` (``None``:
    in any period), each with its regions, its periods among those, its effort multiplier,
    parties, needs and pledges."""
    asked = None if periods is None else {pd.Timestamp(p).date().isoformat() for p in periods}
    confirmed = sa.select(OperationEvent.operation).where(OperationEvent.kind == "confirmed")
    with db.read() as con:
        found = load(con, sa.select(Operation).where(Operation.id.in_(confirmed)))
    out = []
    for o in found:
        runs = tuple(p for p in o.periods if asked is None or p in asked)
        if not runs or o.status(datetime.min) != "confirmed":
            continue
        out.append(ConfirmedOperation.of(o, runs))
    return out


def _next_id(con: Connection, reserved: Collection[str] = ()) -> str:
    """The next ``JO-n`` after every stored and ``reserved`` one (the table is locked against
    other proposals). ``reserved`` are the resources' candidate operations: a stored operation
    of a candidate's id takes the candidate's place in every plan."""
    taken = [*con.execute(sa.select(Operation.operation_id)).scalars().all(), *reserved]
    numbers = [int(m.group(1)) for t in taken if (m := _GENERATED.match(t))]
    return f"JO-{max(numbers, default=0) + 1}"


def _visible(
    con: Connection, operation_id: str, actor: Actor, *, lock: bool = True
) -> OperationRecord:
    """The operation, locked for the transaction (unless ``lock`` is false), if ``actor`` is
    party to it."""
    operation = locked(con, operation_id, lock=lock)
    if operation is None or not (actor.operator or actor.country in operation.parties):
        raise OperationNotFoundError(f"no operation {operation_id} of yours — fix: GET "
                                     "/operations (crossplan operations list) lists them")  # fmt: skip
    return operation


def _may_act(actor: Actor, operation_id: str, act: str) -> None:
    if not actor.planner:
        raise OperationRefusedError(f"the key of '{actor.key_name}' may not {act} "
                                    f"{operation_id} — fix: ask a planner of your agency")  # fmt: skip


def _open(
    con: Connection, operation_id: str, actor: Actor, now: datetime, act: str
) -> OperationRecord:
    """The operation, locked, if ``actor`` is party to it, may act on it, and it is open."""
    operation = _visible(con, operation_id, actor)
    _may_act(actor, operation_id, act)
    status = operation.status(now)
    if status != "open":
        raise OperationConflictError(f"{operation_id} is {status}; only an open operation "
                                     f"takes that — fix: GET /operations/{operation_id}")  # fmt: skip
    return operation


def _party(
    dataset: Dataset, operation: OperationRecord, actor: Actor, party: str | None,
    units: Sequence[UnitPledge],
) -> str:  # fmt: skip
    """The country a pledge is for: the actor's; the operator's names it or its units'."""
    if actor.country is not None:
        return _own(actor, party)
    if party is None:
        country = (
            {u.unit_id: u.country for u in dataset.resources.units} if dataset.resources else {}
        )
        found = {country[u.unit_id] for u in units if u.unit_id in country}
        party = found.pop() if len(found) == 1 else None
    if party not in operation.parties:
        raise DataValidationError([Problem("request", f"{party or 'no single country'} is not "
                                           f"party to {operation.operation_id}",
                                           "pledge units of one party: "
                                           + ", ".join(operation.parties), "party")])  # fmt: skip
    return party


def _own(actor: Actor, party: str | None) -> str:
    """A key of a country acts for its own country."""
    if party not in (None, actor.country):
        raise DataValidationError([Problem("request", f"a key of {actor.country} acts for "
                                           f"{actor.country}, not {party}",
                                           "leave 'party' out: it is an operator key's",
                                           "party")])  # fmt: skip
    return str(actor.country)


def _reason(reason: str | None, **detail: Any) -> dict[str, Any]:
    if reason is not None and len(reason) > _MAX_REASON:
        raise DataValidationError([Problem("request", f"{len(reason)} characters",
                                           f"say it in {_MAX_REASON}", "reason")])  # fmt: skip
    return {**detail, "reason": reason.strip() if reason else None}
