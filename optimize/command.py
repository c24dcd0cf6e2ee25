"""Who plans which units, and the effort others have committed: the plan's two given facts.

A plan assigns only the units its requester **commands** (:class:`Command`): an agency's
planner commands its agency's units, a national coordination centre every unit of its
country, and the operator every unit — but the operator's plan is a central proposal that
binds no agency (``binding`` false), since each agency plans its own units.

What other agencies have already committed for the planned periods (for now, their pledges
to joint operations) is **fixed effort** (:class:`FixedEffort`): effort already in a region
that the plan counts — in expected interdictions, and in a joint operation's commitment of
the country that pledged it — but can neither move nor take away. Without it, a joint
operation another country is party to could never be launched by one country's plan.

A joint operation its parties **confirmed** (:class:`Confirmed`) binds every party's plan
for its periods: it is launched (its multiplier applies to the pooled effort of all
parties), and the shifts this plan's units pledged to it are reserved inside its regions.
The other parties' pledges are fixed effort.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crossplan.optimize.resources import Country, Name, RegionId, Unit

__all__ = ["Command", "Confirmed", "FixedEffort", "FixedTable", "fixed_table"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Command(_Strict):
    """Whose plan it is, and so which units it may assign.

    No country: the operator's central proposal over every unit, binding on no one. With a
    country: scope ``agency`` commands the units of ``agency`` in that country, scope
    ``national`` every unit of the country.
    """

    country: Country | None = Field(
        default=None, description="The planner's country; null: the operator (every unit)"
    )
    agency: Name | None = Field(default=None, description="The planner's agency")
    scope: Literal["agency", "national"] = Field(
        default="agency",
        description="'agency': the agency's own units; 'national': every unit of the country",
    )

    @model_validator(mode="after")
    def _operator_has_no_scope(self) -> Command:
        if self.country is None and (self.agency is not None or self.scope != "agency"):
            raise ValueError("a command without a country is the operator's: no agency or scope")
        return self

    @property
    def binding(self) -> bool:
        """Whether the units follow the plan: every plan but the operator's."""
        return self.country is not None

    @property
    def planner(self) -> str:
        """Who plans, in words: ``GRC Border Police``, ``GRC`` or ``the operator``."""
        if self.country is None:
            return "the operator"
        if self.scope == "national" or self.agency is None:
            return self.country
        return f"{self.country} {self.agency}"

    def commands(self, unit: Unit) -> bool:
        """Whether the plan may assign ``unit``."""
        if self.country is None:
            return True
        if unit.country != self.country:
            return False
        return self.scope == "national" or unit.agency == self.agency

    def covers(self, country: str) -> bool:
        """Whether the plan commands every unit of ``country``."""
        return self.country is None or (self.country == country and self.scope == "national")


class FixedEffort(_Strict):
    """Effort another agency has committed to a region and period: counted, never moved."""

    region_id: RegionId = Field(description="Where the effort is")
    period: dt.date = Field(description="Start of the period (ISO date)")
    country: Country = Field(description="Country of the agency that committed it")
    agency: Name | None = Field(default=None, description="The agency that committed it")
    shifts: int = Field(
        ge=0,
        le=100_000,
        description="Shifts committed; they count toward the country's part of a joint "
        "operation whose regions hold this region",
    )
    effort: float | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Effective effort (efficiency-weighted shifts), before any joint "
        "operation's multiplier; null: the shifts",
    )
    source: str | None = Field(
        default=None, max_length=200, description="What it comes from, e.g. 'JO-1 pledge'"
    )

    @property
    def effective(self) -> float:
        """Effective effort of the row."""
        return float(self.shifts if self.effort is None else self.effort)


class Confirmed(_Strict):
    """A joint operation its parties confirmed, in one planned period: launched in the plan.

    ``reserved`` are the shifts this plan's units pledged to it: each such unit works at
    least that many shifts inside the operation's regions (no more than its capacity, and
    only where it may work). Pledges of units the plan does not command are fixed effort.
    ``need`` weighs a pledge not made yet: the plan's units work that many more shifts
    there, wherever the plan gains most.
    """

    operation_id: Name = Field(description="The confirmed joint operation")
    period: dt.date = Field(description="Start of the period it runs in (ISO date)")
    reserved: dict[Name, int] = Field(
        default_factory=dict,
        description="Unit id → shifts it pledged in the period: kept inside the "
        "operation's regions",
    )
    need: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="Shifts the plan's own units must also work inside its regions, the "
        "plan choosing which: a pledge being weighed (what pledging is worth); 0: none",
    )

    @model_validator(mode="after")
    def _shifts_are_counts(self) -> Confirmed:
        bad = [u for u, n in self.reserved.items() if not 0 <= n <= 100_000]
        if bad:
            raise ValueError(f"reserved shifts of {', '.join(bad)} must be 0 to 100000")
        return self


@dataclass(frozen=True, eq=False)
class FixedTable:
    """Fixed effort of the planned periods as arrays.

    Parameters
    ----------
    rows
        The rows of planned periods, in the order given.
    effort
        Effective effort per (region, period).
    shifts
        Per country, shifts per (region, period).
    """

    rows: tuple[FixedEffort, ...]
    effort: np.ndarray
    shifts: Mapping[str, np.ndarray]

    def shifts_in(self, country: str, regions: Sequence[int] | np.ndarray, period: int) -> float:
        """Shifts ``country`` has committed to ``regions`` in ``period``."""
        per = self.shifts.get(country)
        return 0.0 if per is None else float(per[np.asarray(regions, dtype=int), period].sum())


def fixed_table(
    rows: Sequence[FixedEffort], index: Mapping[str, int], periods: Sequence[str]
) -> FixedTable:
    """The rows of ``periods`` (ISO dates) as arrays over ``index``'s regions; rows of other
    periods are left out (a caller may pass what is committed beyond the plan's horizon)."""
    column = {p: t for t, p in enumerate(periods)}
    shape = (len(index), len(periods))
    effort = np.zeros(shape)
    shifts: dict[str, np.ndarray] = {}
    kept = []
    for row in rows:
        t = column.get(row.period.isoformat())
        if t is None:
            continue
        r = index[row.region_id]
        effort[r, t] += row.effective
        shifts.setdefault(row.country, np.zeros(shape))[r, t] += row.shifts
        kept.append(row)
    return FixedTable(rows=tuple(kept), effort=effort, shifts=shifts)
