"""Request and response bodies of joint operations (``/operations``), with their limits.

A request is read into the repository's types (:mod:`pipelines.database.operations`), which
check the rules that need the panel's world (regions, agreements, units, periods); these
models check the shape. An answer is an operation as the key's country reads it
(:meth:`pipelines.database.OperationRecord.to_dict`): other parties' units and key names are
left out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from crossplan.pipelines.database import Need, Proposal, UnitPledge
from crossplan.pipelines.database.operation_rules import MAX_PERIODS, OPERATION_ID

__all__ = [
    "CancelRequest",
    "DeclineRequest",
    "OperationItem",
    "OperationList",
    "OperationStep",
    "PledgeRequest",
    "ProposalRequest",
    "WithdrawRequest",
]

Country = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code")]
Agency = Annotated[str, Field(min_length=1, max_length=200, description="An agency's name")]
Shifts = Annotated[int, Field(ge=0, le=100_000, description="Shifts in one period")]
Reason = Annotated[str, Field(min_length=1, max_length=500, description="Why, in words")]
Kind = Literal["proposed", "pledged", "declined", "confirmed", "expired", "withdrawn", "cancelled"]
Status = Literal["open", "confirmed", "expired", "withdrawn", "cancelled"]
OperationId = Annotated[
    str, Field(pattern=OPERATION_ID.pattern, description="The operation's id, e.g. JO-7")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NeedBody(_Body):
    """What one party must pledge, in every period of the operation."""

    shifts: int = Field(ge=1, le=100_000, description="Shifts per period, from any of its units")
    by_agency: dict[Agency, Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default_factory=dict,
        max_length=20,
        description="Of those, at least these many per period from units of each agency named "
        "(the kind of unit needed: 'Coast Guard')",
    )


class ProposalRequest(_Body):
    """A joint operation as its host drafts it; the proposer's country is among the parties.

    Each region must lie in the proposer's own country or be opened to every party by an
    agreement; each period starts a period of the panel, none before the current one."""

    regions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=500, description="Regions the operation works in"
    )
    periods: list[date] = Field(
        min_length=1,
        max_length=MAX_PERIODS,
        description="Starts of the periods it runs in (YYYY-MM-DD; weekly panels: Mondays)",
    )
    needs: dict[Country, NeedBody] = Field(
        min_length=1, max_length=50, description="Each party country's need (two at least)"
    )
    effort_multiplier: float = Field(
        default=1.0, ge=1, le=10, description="What joint work multiplies effort by"
    )
    deadline: datetime | None = Field(
        default=None,
        description="When it expires unless every need is pledged (ISO 8601; UTC without an "
        "offset); at the latest when the first period ends. Default: the first period's "
        "start, or its end once it has begun",
    )
    operation_id: OperationId | None = Field(default=None, description="Default: the next JO-n")

    def proposal(self) -> Proposal:
        return Proposal(
            regions=tuple(self.regions),
            periods=tuple(self.periods),
            needs={c: Need(n.shifts, dict(n.by_agency)) for c, n in self.needs.items()},
            effort_multiplier=self.effort_multiplier,
            deadline=None if self.deadline is None else _utc(self.deadline),
            operation_id=self.operation_id,
        )


class UnitPledgeBody(_Body):
    """One unit's shifts in the operation."""

    unit_id: str = Field(min_length=1, max_length=200, description="A unit of your agency")
    shifts: Shifts | dict[date, Shifts] = Field(
        description="The same shifts in every period, or shifts per period (YYYY-MM-DD: n; "
        "a period left out: 0); at most the unit's shifts_per_period"
    )


class PledgeRequest(_Body):
    """Units and shifts pledged to an operation; it replaces the agency's earlier pledge."""

    units: list[UnitPledgeBody] = Field(min_length=1, max_length=2_000)
    party: Country | None = Field(
        default=None,
        description="An operator key's: the country pledged for (default: its units'); "
        "an agency's key pledges for its own country",
    )

    def pledges(self) -> list[UnitPledge]:
        return [UnitPledge(u.unit_id, u.shifts) for u in self.units]


class DeclineRequest(_Body):
    """A party's no; the operation can then not be confirmed."""

    reason: Reason | None = None
    party: Country | None = Field(
        default=None, description="An operator key's: the country that declines"
    )


class WithdrawRequest(_Body):
    """The proposer's country takes its open operation back."""

    reason: Reason | None = None


class CancelRequest(_Body):
    """A party calls the operation off, confirmed or not."""

    reason: Reason


class Actor(BaseModel):
    """Who did it; a key's name only of the reader's own country (all for the operator)."""

    key: str | None = Field(description="The key, or null when another country's")
    agency: str | None
    country: str | None = Field(description="Null: the operator")


class PledgedUnitItem(BaseModel):
    unit_id: str
    agency: str
    shifts: dict[str, int] = Field(description="Shifts per period (YYYY-MM-DD)")


class OperationEvent(BaseModel):
    """One step of an operation."""

    seq: int = Field(description="Its number within the operation, from 1")
    at: str = Field(description="When (ISO 8601, UTC)")
    kind: Kind
    by: Actor
    party: str | None = Field(description="The country a pledge or decline is for")
    units: list[PledgedUnitItem] | None = Field(
        description="A pledge's units: of the reader's own country only"
    )
    shifts: dict[str, int] | None = Field(description="A pledge's shifts per period, in all")
    reason: str | None


class OperationStep(OperationEvent):
    """An operation's step as an alert tells it (``GET /alerts``, webhook bodies)."""

    operation_id: str
    status: Status = Field(description="The operation's status after the step")
    regions: list[str]
    periods: list[str]
    deadline: str | None


class OperationParty(BaseModel):
    """One party country: what it needs to pledge, and what it pledged."""

    country: str
    need: NeedBody
    answer: Literal["awaiting", "pledged", "declined"]
    pledged: dict[str, int] = Field(description="Shifts pledged per period, in all")
    units: list[PledgedUnitItem] | None = Field(
        description="Its pledged units: of the reader's own country only"
    )
    lacks: list[str] = Field(description="What its pledge still lacks, in words")


class OperationItem(BaseModel):
    """A joint operation as the key's country reads it."""

    operation_id: str
    status: Status = Field(
        description="'open' to pledges; 'confirmed' once every need is pledged; 'expired' at "
        "the deadline unconfirmed; 'withdrawn' by its proposer; 'cancelled' by a party"
    )
    proposed_by: Actor
    created_at: str | None
    deadline: str | None
    regions: list[str]
    periods: list[str]
    effort_multiplier: float
    parties: list[OperationParty]
    events: list[OperationEvent] = Field(description="Every step, oldest first")


class OperationList(BaseModel):
    """The operations the key's country is party to (every one for the operator), newest
    first."""

    operations: list[OperationItem]


def _utc(moment: datetime) -> datetime:
    """A time as the database keeps it: naive UTC."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 moved across midnight: refused as out of range
        return datetime.min if moment.year < 2 else datetime.max
