"""A joint operation's state, derived from its events: status, standing pledges, needs met.

Nothing about an operation is ever written over (its tables are append-only); what it is now
is folded from what happened to it, in order:

* **Status**: ``cancelled``, ``withdrawn`` or ``expired`` when such an event happened (a
  cancel may follow a confirmation), else ``confirmed`` when it was confirmed, else ``open``
  — or ``expired`` once its deadline has passed, before the event that says so is written.
* **Standing pledges**: per party country, per unit, the shifts of the latest pledge that
  covers the unit. A pledge covers the units of its agency (a key of an agency pledges for
  that agency), or every unit of the country (the operator's pledges, and those of a key
  without an agency), so a country's agencies each pledge their own units and a new pledge
  replaces its agency's earlier one.
* **Needs met**: every party's standing pledge gives, in every period, at least its need's
  shifts, and at least each ``by_agency`` part from units of that agency.

What a reader is shown of an operation (:meth:`OperationRecord.to_dict`): parties read all
of it but the units and key names of other parties' agencies (their totals per period stay),
as the sharing rules show a partner no other country's units; the operator reads all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crossplan.pipelines.database.panel import iso

__all__ = [
    "ENDED",
    "KINDS",
    "STATUSES",
    "Need",
    "OperationRecord",
    "PledgedUnit",
    "Step",
]

#: What can happen to an operation, in the order of its life.
KINDS = ("proposed", "pledged", "declined", "confirmed", "expired", "withdrawn", "cancelled")
#: What an operation can be.
STATUSES = ("open", "confirmed", "expired", "withdrawn", "cancelled")
#: Statuses after which nothing more happens.
ENDED = ("expired", "withdrawn", "cancelled")


@dataclass(frozen=True)
class Need:
    """What one party must pledge, in every period of the operation.

    Attributes
    ----------
    shifts
        Shifts in all, from any of its units.
    by_agency
        Of those, at least these many from units of each named agency (the kind of unit the
        operation needs: a coast guard's boats, a border police's patrols).
    """

    shifts: int
    by_agency: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"shifts": self.shifts, "by_agency": dict(self.by_agency)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Need:
        return cls(
            int(doc["shifts"]), {str(k): int(v) for k, v in doc.get("by_agency", {}).items()}
        )


@dataclass(frozen=True)
class PledgedUnit:
    """A unit pledged to an operation: its shifts in each period (ISO date → shifts)."""

    unit_id: str
    agency: str
    shifts: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "agency": self.agency, "shifts": dict(self.shifts)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PledgedUnit:
        shifts = {str(k): int(v) for k, v in doc["shifts"].items()}
        return cls(str(doc["unit_id"]), str(doc["agency"]), shifts)


@dataclass(frozen=True)
class Step:
    """One event of an operation.

    Attributes
    ----------
    key_name, agency, country
        Who did it (no country: the operator, ``cli:USER`` on the command line).
    detail
        ``party`` (the country a pledge or decline is for), ``units`` (a pledge's
        :class:`PledgedUnit` dicts), ``reason``, ``candidate`` (a seeded proposal's).
    """

    seq: int
    at: datetime
    kind: str
    key_name: str
    agency: str | None
    country: str | None
    detail: Mapping[str, Any]

    @property
    def party(self) -> str | None:
        """The country a pledge or decline is for."""
        return self.detail.get("party", self.country)

    def units(self) -> list[PledgedUnit]:
        return [PledgedUnit.from_dict(u) for u in self.detail.get("units", ())]


@dataclass(frozen=True)
class OperationRecord:
    """A joint operation as drafted, with every step of its life so far.

    Attributes
    ----------
    row
        Its row in the ``operations`` table.
    key_name, agency, country
        Who proposed it (no country: the operator, who may seed operations).
    periods
        ISO dates of the starts of the periods it runs in.
    needs
        Per party country, what it must pledge; the parties are its keys.
    deadline
        When it expires unless confirmed (naive UTC).
    """

    row: int
    operation_id: str
    created_at: datetime
    key_name: str
    agency: str | None
    country: str | None
    regions: tuple[str, ...]
    periods: tuple[str, ...]
    needs: Mapping[str, Need]
    effort_multiplier: float
    deadline: datetime
    steps: tuple[Step, ...] = ()

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(sorted(self.needs))

    def status(self, now: datetime) -> str:
        """What the operation is at ``now`` (see the module's description)."""
        kinds = {s.kind for s in self.steps}
        for ended in ("cancelled", "withdrawn", "expired"):
            if ended in kinds:
                return ended
        if "confirmed" in kinds:
            return "confirmed"
        return "expired" if now >= self.deadline else "open"

    def declined(self) -> dict[str, Step]:
        """The parties that declined, with their decline."""
        return {s.party: s for s in self.steps if s.kind == "declined" and s.party is not None}

    def pledges(self) -> dict[str, dict[str, PledgedUnit]]:
        """Each party's standing pledge: unit id → the unit's latest pledged shifts."""
        standing: dict[str, dict[str, PledgedUnit]] = {}
        for step in self.steps:
            if step.kind != "pledged" or step.party is None:
                continue
            units = standing.setdefault(step.party, {})
            scope = step.agency if step.country is not None else None
            for unit_id in [u for u, p in units.items() if scope in (None, p.agency)]:
                del units[unit_id]
            units.update({u.unit_id: u for u in step.units()})
        return standing

    def pledged_shifts(self, party: str) -> dict[str, int]:
        """A party's standing pledge in shifts per period (every period, 0 when none)."""
        units = self.pledges().get(party, {}).values()
        return {p: sum(u.shifts.get(p, 0) for u in units) for p in self.periods}

    def shortfall(self) -> dict[str, list[str]]:
        """Per party, what its standing pledge still lacks, in words (empty: needs met)."""
        pledges = self.pledges()
        missing: dict[str, list[str]] = {}
        for party, need in self.needs.items():
            units = list(pledges.get(party, {}).values())
            lacks = []
            for period in self.periods:
                total = sum(u.shifts.get(period, 0) for u in units)
                if total < need.shifts:
                    lacks.append(f"{need.shifts - total} shifts in {period}")
                for agency, wanted in need.by_agency.items():
                    got = sum(u.shifts.get(period, 0) for u in units if u.agency == agency)
                    if got < wanted:
                        lacks.append(f"{wanted - got} shifts of {agency} in {period}")
            if lacks:
                missing[party] = lacks
        return missing

    def needs_met(self) -> bool:
        return not self.shortfall()

    def to_dict(self, now: datetime, reader: str | None) -> dict[str, Any]:
        """The operation as ``reader`` (a party's country; ``None``: the operator) reads it:
        other parties' units and key names left out (see the module's description)."""
        pledges, declined, shortfall = self.pledges(), self.declined(), self.shortfall()
        parties = []
        for party, need in sorted(self.needs.items()):
            answer = "declined" if party in declined else "pledged" if party in pledges else None
            units = [u.to_dict() for _, u in sorted(pledges.get(party, {}).items())]
            parties.append(
                {
                    "country": party,
                    "need": need.to_dict(),
                    "answer": answer or "awaiting",
                    "pledged": self.pledged_shifts(party),
                    "units": units if reader in (None, party) else None,
                    "lacks": shortfall.get(party, []),
                }
            )
        return {
            "operation_id": self.operation_id,
            "status": self.status(now),
            "proposed_by": _by(self.key_name, self.agency, self.country, reader),
            "created_at": iso(self.created_at),
            "deadline": iso(self.deadline),
            "regions": list(self.regions),
            "periods": list(self.periods),
            "effort_multiplier": self.effort_multiplier,
            "parties": parties,
            "events": [_step(s, reader) for s in self.steps],
        }


def _by(key: str, agency: str | None, country: str | None, reader: str | None) -> dict[str, Any]:
    """Who did it, as ``reader`` reads it: key names of its own country's keys only (and of
    the operator's, which name no one of a party)."""
    shown = reader is None or country in (None, reader)
    return {"key": key if shown else None, "agency": agency, "country": country}


def _step(step: Step, reader: str | None) -> dict[str, Any]:
    party = step.party
    units = step.units()
    mine = reader is None or party == reader
    return {
        "seq": step.seq,
        "at": iso(step.at),
        "kind": step.kind,
        "by": _by(step.key_name, step.agency, step.country, reader),
        "party": party if step.kind in ("pledged", "declined") else None,
        "units": [u.to_dict() for u in units] if step.kind == "pledged" and mine else None,
        "shifts": _totals(units) if step.kind == "pledged" else None,
        "reason": step.detail.get("reason"),
    }


def _totals(units: list[PledgedUnit]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for unit in units:
        for period, shifts in unit.shifts.items():
            totals[period] = totals.get(period, 0) + shifts
    return dict(sorted(totals.items()))
