"""The rules a joint operation's proposal and pledges keep, checked against the panel's world.

A proposal (:func:`proposal_problems`) names at least two party countries, each with a need
of at least one shift per period that its units can give; its regions are known, and each
lies in the proposer's own country or is opened to every party (a party's own region, or one
an agreement of the resources with it covers); its periods start periods of the panel's
frequency, none before the current one; its deadline is in the future and no later than the
end of its first period. A pledge (:func:`pledge_problems`) names units of the pledging
country — of the key's agency, unless the key is the operator's or names no agency — each
once, allowed to work at least one of the operation's regions (:mod:`optimize.eligibility`),
with whole shifts in the operation's periods, within the unit's ``shifts_per_period``.

Every problem is located at the field of the request it is in (``regions[1]``,
``needs.GRC.shifts``, ``units[0].shifts.2026-03-09``), so the API answers 400 listing them
all and the command line prints them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from crossplan.optimize.eligibility import compute_eligibility
from crossplan.optimize.periods import fits_frequency, period_offset, period_start
from crossplan.optimize.region_table import RegionTable
from crossplan.optimize.resources import Unit
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.operation_state import Need, OperationRecord, PledgedUnit
from crossplan.pipelines.errors import Problem

__all__ = [
    "MAX_DAYS_AHEAD",
    "MAX_PERIODS",
    "OPERATION_ID",
    "Actor",
    "Proposal",
    "UnitPledge",
    "default_deadline",
    "next_period",
    "pledge_problems",
    "pledged_units",
    "proposal_problems",
]

#: Periods one operation may run in.
MAX_PERIODS = 52
#: How far ahead an operation's periods may lie.
MAX_DAYS_AHEAD = 731
#: What an operation id looks like (``JO-7``, ``JO-1.2026-03-02``).
OPERATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Actor:
    """Who acts on an operation: a key (or ``cli:USER``) with its country and agency.

    Attributes
    ----------
    planner
        Whether its role plans (planner, admin; the operator's command line does).
    """

    key_name: str
    country: str | None = None
    agency: str | None = None
    planner: bool = True

    @property
    def operator(self) -> bool:
        return self.country is None


@dataclass(frozen=True)
class Proposal:
    """A joint operation as a host drafts it.

    Attributes
    ----------
    needs
        Per party country (the proposer's among them), what it must pledge.
    deadline
        When it expires unless confirmed (naive UTC); ``None``: :func:`default_deadline`.
    operation_id
        ``None``: the next free ``JO-n``.
    candidate
        The resources' candidate a seeded proposal comes from.
    """

    regions: tuple[str, ...]
    periods: tuple[date, ...]
    needs: Mapping[str, Need]
    effort_multiplier: float = 1.0
    deadline: datetime | None = None
    operation_id: str | None = None
    candidate: str | None = None


@dataclass(frozen=True)
class UnitPledge:
    """A unit's shifts in a pledge: the same in every period (a number), or per period."""

    unit_id: str
    shifts: int | Mapping[date, int] = field(default=0)


def next_period(frequency: str, now: datetime) -> date:
    """The start of the next period to begin after ``now``."""
    start = period_start(pd.Timestamp(now), frequency) + period_offset(frequency)
    day: date = start.date()
    return day


def default_deadline(periods: Sequence[date], frequency: str, now: datetime) -> datetime:
    """The start of the first period, or, once it has begun, its end."""
    first = pd.Timestamp(min(periods)).to_pydatetime()
    return first if first > now else _first_end(periods, frequency)


def _first_end(periods: Sequence[date], frequency: str) -> datetime:
    """When the first of ``periods`` ends: the latest deadline."""
    end: datetime = (pd.Timestamp(min(periods)) + period_offset(frequency)).to_pydatetime()
    return end


def proposal_problems(
    dataset: Dataset, proposal: Proposal, actor: Actor, now: datetime
) -> list[Problem]:
    """Every rule ``proposal`` breaks (see the module's description)."""
    problems: list[Problem] = []
    country_of = dict(zip(dataset.regions["region_id"], dataset.regions["country"], strict=True))
    countries = sorted(set(country_of.values()))
    parties = sorted(proposal.needs)
    if proposal.operation_id is not None and not OPERATION_ID.match(proposal.operation_id):
        problems.append(_at("operation_id", f"{proposal.operation_id!r} is not an operation id",
                            "use 1-64 letters, digits, '.', '_' or '-', e.g. JO-7"))  # fmt: skip
    if len(parties) < 2:
        problems.append(_at("needs", f"{len(parties)} party countries; a joint operation has "
                            "at least two", "give the need of every country taking part"))  # fmt: skip
    for party in parties:
        if party not in countries:
            problems.append(_at(f"needs.{party}", f"country {party!r} has no region in the panel",
                                f"use one of {', '.join(countries)}"))  # fmt: skip
    if not 1.0 <= proposal.effort_multiplier <= 10.0:
        problems.append(_at("effort_multiplier", f"{proposal.effort_multiplier} is outside 1-10",
                            "give the factor joint work multiplies effort by, from 1 to 10"))  # fmt: skip
    where = _region_problems(dataset, proposal, actor, country_of)
    problems += where + _period_problems(dataset, proposal.periods, now)
    # What a party's units can give depends on the regions: judged once they are right.
    checked = [p for p in parties if p in countries]
    problems += _need_problems(dataset, proposal, checked, capacity=not where)
    if proposal.deadline is not None and proposal.periods and not problems:
        latest = _first_end(proposal.periods, dataset.frequency)
        if not now < proposal.deadline <= latest:
            problems.append(_at("deadline", f"{proposal.deadline:%Y-%m-%d %H:%M} UTC is not "
                                f"between now and the end of the first period ({latest:%Y-%m-%d})",
                                "give a time to come, at the latest when the first period ends"))  # fmt: skip
    return problems


def _region_problems(
    dataset: Dataset, proposal: Proposal, actor: Actor, country_of: Mapping[str, str]
) -> list[Problem]:
    if not proposal.regions:
        return [_at("regions", "no region", "name the regions the operation works in")]
    problems = []
    opened = _opened(dataset)
    for i, region in enumerate(proposal.regions):
        where = f"regions[{i}]"
        if region in proposal.regions[:i]:
            problems.append(_at(where, f"region {region!r} is named twice", "name it once"))
        elif region not in country_of:
            problems.append(
                _at(where, f"unknown region {region!r}", "use a region_id of the panel")
            )
        elif country_of[region] != actor.country:
            shut = [p for p in sorted(proposal.needs)
                    if p != country_of[region] and region not in opened.get(p, set())]  # fmt: skip
            if shut:
                problems.append(_at(where, f"region {region!r} of {country_of[region]} is opened "
                                    f"to {', '.join(shut)} by no agreement",
                                    "name regions of your own country, or regions an agreement "
                                    "opens to every party"))  # fmt: skip
    return problems


def _opened(dataset: Dataset) -> dict[str, set[str]]:
    """The regions agreements open to each country."""
    opened: dict[str, set[str]] = {}
    for agreement in dataset.resources.agreements if dataset.resources else ():
        for country in agreement.countries:
            opened.setdefault(country, set()).update(agreement.regions)
    return opened


def _period_problems(dataset: Dataset, periods: Sequence[date], now: datetime) -> list[Problem]:
    if not periods:
        return [_at("periods", "no period", "name the periods the operation runs in")]
    if len(periods) > MAX_PERIODS:
        return [_at("periods", f"{len(periods)} periods", f"plan at most {MAX_PERIODS} at once")]
    current = period_start(pd.Timestamp(now), dataset.frequency).date()
    farthest = now.date() + timedelta(days=MAX_DAYS_AHEAD)
    problems = []
    for i, day in enumerate(periods):
        where = f"periods[{i}]"
        if day in periods[:i]:
            problems.append(_at(where, f"{day} is named twice", "name it once"))
        elif day < current:
            problems.append(_at(where, f"{day} is in the past",
                                f"give the current period ({current}) or a later one"))  # fmt: skip
        elif day > farthest:
            problems.append(_at(where, f"{day} is more than {MAX_DAYS_AHEAD} days ahead",
                                "propose operations of the coming two years"))  # fmt: skip
        elif not fits_frequency(pd.Series([pd.Timestamp(day)]), dataset.frequency).iloc[0]:
            problems.append(_at(where, f"{day} starts no {dataset.frequency} period of the "
                                "panel", "give the date a period starts (weekly: a Monday)"))  # fmt: skip
    return problems


def _need_problems(
    dataset: Dataset, proposal: Proposal, parties: list[str], *, capacity: bool
) -> list[Problem]:
    units = dataset.resources.units if dataset.resources else ()
    reach = _reach(dataset, units, proposal.regions)
    problems = []
    for party in parties:
        need = proposal.needs[party]
        mine = [u for u, ok in zip(units, reach, strict=True) if ok and u.country == party]
        has = sum(u.shifts_per_period for u in mine)
        if need.shifts < 1:
            problems.append(_at(f"needs.{party}.shifts", f"{need.shifts} shifts",
                                "ask each party for at least 1 shift per period"))  # fmt: skip
        elif capacity and not mine:
            problems.append(_at(f"needs.{party}.shifts", f"no unit of {party} may work these "
                                "regions", f"name regions units of {party} may work (its own, "
                                "or those an agreement opens to it), or leave it out"))  # fmt: skip
        elif capacity and need.shifts > has:
            problems.append(_at(f"needs.{party}.shifts", f"{need.shifts} shifts per period, but "
                                f"the units of {party} that may work these regions have "
                                f"{has}", f"ask for at most {has}"))  # fmt: skip
        for agency, shifts in need.by_agency.items():
            where = f"needs.{party}.by_agency.{agency}"
            have = sum(u.shifts_per_period for u in mine if u.agency == agency)
            if not 1 <= shifts <= need.shifts:
                problems.append(_at(where, f"{shifts} shifts", f"give 1 to {need.shifts} (of "
                                    f"the {need.shifts} {party} pledges)"))  # fmt: skip
            elif capacity and shifts > have:
                problems.append(_at(where, f"{shifts} shifts of {agency} per period, but its "
                                    f"units of {party} that may work these regions have {have}",
                                    f"ask for at most {have}"))  # fmt: skip
    return problems


def _reach(dataset: Dataset, units: Sequence[Unit], regions: Sequence[str]) -> np.ndarray:
    """Whether each unit may work at least one of ``regions``."""
    table = RegionTable.from_frame(dataset.regions)
    known = [table.index[r] for r in regions if r in table.index]
    if not units or not known:
        return np.zeros(len(units), dtype=bool)
    agreements = dataset.resources.agreements if dataset.resources else ()
    matrix = compute_eligibility(units, table, agreements).matrix
    return np.asarray(matrix[:, known].any(axis=1))


def pledge_problems(
    dataset: Dataset, operation: OperationRecord, party: str, pledges: Sequence[UnitPledge],
    actor: Actor,
) -> list[Problem]:  # fmt: skip
    """Every rule a pledge for ``party`` breaks (see the module's description)."""
    units = {u.unit_id: u for u in (dataset.resources.units if dataset.resources else ())}
    if not pledges:
        return [_at("units", "no unit", "name the units you pledge and their shifts")]
    reach = dict(zip(units, _reach(dataset, list(units.values()), operation.regions), strict=True))
    problems = []
    for i, pledge in enumerate(pledges):
        where = f"units[{i}]"
        unit = units.get(pledge.unit_id)
        if unit is None:
            problems.append(_at(f"{where}.unit_id", f"unknown unit {pledge.unit_id!r}",
                                "use a unit_id of the resources (GET /resources)"))  # fmt: skip
        elif pledge.unit_id in [p.unit_id for p in pledges[:i]]:
            problems.append(_at(f"{where}.unit_id", f"unit {pledge.unit_id!r} is named twice",
                                "name each unit once, with its shifts"))  # fmt: skip
        elif unit.country != party:
            problems.append(_at(f"{where}.unit_id", f"unit {unit.unit_id!r} is of {unit.country}"
                                f", not of {party}", f"pledge units of {party} only"))  # fmt: skip
        elif actor.agency is not None and not actor.operator and unit.agency != actor.agency:
            problems.append(_at(f"{where}.unit_id", f"unit {unit.unit_id!r} is of {unit.agency}, "
                                f"not of your agency {actor.agency}",
                                "pledge your own agency's units; its other agencies pledge "
                                "theirs"))  # fmt: skip
        elif not reach[unit.unit_id]:
            problems.append(_at(f"{where}.unit_id", f"unit {unit.unit_id!r} may work none of "
                                f"the regions of {operation.operation_id}",
                                "pledge units whose jurisdiction, agreements and reach cover "
                                "one of them"))  # fmt: skip
        else:
            problems += _shift_problems(where, pledge, unit, operation)
    if not problems and not any(sum(_shifts(p, operation).values()) for p in pledges):
        problems.append(_at("units", "no shift pledged", "pledge at least one shift"))
    return problems


def _shift_problems(
    where: str, pledge: UnitPledge, unit: Unit, operation: OperationRecord
) -> list[Problem]:
    problems = []
    if isinstance(pledge.shifts, Mapping):
        for day in pledge.shifts:
            if day.isoformat() not in operation.periods:
                problems.append(_at(f"{where}.shifts.{day}", f"{day} is no period of "
                                    f"{operation.operation_id}",
                                    f"use its periods: {', '.join(operation.periods)}"))  # fmt: skip
        given = {d.isoformat(): s for d, s in pledge.shifts.items()}
    else:
        given = dict.fromkeys(operation.periods, pledge.shifts)
    for period, shifts in given.items():
        if period in operation.periods and not 0 <= shifts <= unit.shifts_per_period:
            problems.append(_at(f"{where}.shifts.{period}", f"{shifts} shifts; unit "
                                f"{unit.unit_id!r} has {unit.shifts_per_period} a period",
                                f"pledge 0 to {unit.shifts_per_period}"))  # fmt: skip
    return problems


def _shifts(pledge: UnitPledge, operation: OperationRecord) -> dict[str, int]:
    if isinstance(pledge.shifts, Mapping):
        given = {d.isoformat(): int(s) for d, s in pledge.shifts.items()}
        return {p: given.get(p, 0) for p in operation.periods}
    return dict.fromkeys(operation.periods, int(pledge.shifts))


def pledged_units(
    dataset: Dataset, operation: OperationRecord, pledges: Sequence[UnitPledge]
) -> list[PledgedUnit]:
    """The units of a pledge that :func:`pledge_problems` passed, as stored."""
    agency = {u.unit_id: u.agency for u in dataset.resources.units} if dataset.resources else {}
    return [PledgedUnit(p.unit_id, agency[p.unit_id], _shifts(p, operation)) for p in pledges]


def _at(where: str, message: str, fix: str) -> Problem:
    return Problem("request", message, fix, where)
