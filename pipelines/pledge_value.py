"""What pledging to an open joint operation is worth to one of its parties.

Two plans of the party's own units (its planner's command) on its own view of the panel, over
the periods up to the operation's last: **without** its pledge — the operation not launched —
and **with** it — the operation launched, the party's units working its remaining need inside
the operation's regions wherever its plan gains most (:attr:`optimize.command.Confirmed.need`),
what it already pledged reserved, and every other party's need counted as effort there (what
it pledged, else its need, spread over the regions: this plan cannot read where another
party's units will go). Both plans keep the operations already confirmed. The figures are the
exact expected interdictions of the operation's periods; the difference is what pledging is
worth, and the *with* plan's shifts inside the operation's regions are the pledge it suggests.

The plans read only the party's own view and the pledges it may read, and their figures go
to that party alone: no party learns another's value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crossplan.optimize import Inputs, plan_allocation
from crossplan.optimize.command import Command, Confirmed, FixedEffort
from crossplan.optimize.periods import future_periods
from crossplan.optimize.plan import Plan
from crossplan.pipelines.agreed import agreed, joint_operation, spread
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.operation_state import OperationRecord
from crossplan.pipelines.database.operations import ConfirmedOperation

__all__ = ["PledgeValue", "horizon_through", "pledge_value"]

UNIT = "expected interdictions over the operation's periods"


@dataclass(frozen=True)
class PledgeValue:
    """What pledging is worth to ``country`` (see the module)."""

    operation_id: str
    country: str
    periods: tuple[str, ...]
    with_pledge: float
    without_pledge: float
    in_operation_regions: dict[str, float]
    need: dict[str, int]
    suggested_pledge: list[dict[str, object]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()

    @property
    def gain(self) -> float:
        return self.with_pledge - self.without_pledge

    @property
    def advice(self) -> str:
        return "pledge" if self.gain > 1e-9 else "decline"

    def to_dict(self) -> dict[str, object]:
        """The answer of ``GET /operations/{id}/value`` (and ``crossplan operations value``)."""
        return {
            "operation_id": self.operation_id,
            "country": self.country,
            "periods": list(self.periods),
            "unit": UNIT,
            "with_pledge": round(self.with_pledge, 6),
            "without_pledge": round(self.without_pledge, 6),
            "gain": round(self.gain, 6),
            "in_operation_regions": {k: round(v, 6) for k, v in self.in_operation_regions.items()},
            "need": dict(self.need),
            "suggested_pledge": list(self.suggested_pledge),
            "advice": self.advice,
            "reason": self.reason,
            "warnings": list(self.warnings),
        }

    @property
    def reason(self) -> str:
        shifts = ", ".join(f"{n} in {p}" for p, n in self.need.items() if n > 0) or "nothing"
        said = (
            f"Pledging ({shifts} more shift(s) inside the operation's regions) takes your "
            f"expected interdictions over its periods from {self.without_pledge:.2f} to "
            f"{self.with_pledge:.2f}"
        )
        if self.advice == "pledge":
            return f"{said}: +{self.gain:.2f}. Pledge the suggested units, or others of yours."
        return (
            f"{said}: {self.gain:+.2f}; your shifts are worth more where your plan puts them. "
            "Decline with a reason, or propose other regions or periods."
        )


def pledge_value(
    operation: OperationRecord,
    confirmed: Sequence[ConfirmedOperation],
    dataset: Dataset,
    forecast: pd.DataFrame,
    command: Command,
    *,
    solver: str = "cbc",
    time_limit: float | None = 20.0,
) -> PledgeValue:
    """What pledging to ``operation`` is worth to ``command``'s country.

    Parameters
    ----------
    operation
        An open operation ``command``'s country is party to.
    confirmed
        The confirmed operations (:func:`pipelines.database.confirmed_operations`).
    dataset
        The party's view of the panel, with the resources.
    forecast
        The model's forecast for the view, over the periods from the next one to the
        operation's last at least.
    command
        The party's planner: the units its plans command.
    solver, time_limit
        For each of the two plans.

    Raises
    ------
    ValueError
        The forecast does not reach the operation's periods, or the dataset has no
        resources.
    """
    if dataset.resources is None or command.country is None:
        raise ValueError("a party's value needs its resources and its country")
    country = command.country
    base = agreed(confirmed, dataset.resources, command)
    needs = {c: n.shifts for c, n in operation.needs.items()}
    weighed = joint_operation(operation.operation_id, operation.parties, operation.regions,
                              needs, operation.effort_multiplier)  # fmt: skip
    others = [o for o in base.resources.joint_operations if o.operation_id != weighed.operation_id]
    resources = base.resources.model_copy(update={"joint_operations": (*others, weighed)})
    inputs = Inputs.from_resources(
        resources,
        dataset.regions,
        forecast,
        dataset.recent_counts().to_dict(),
        command=command,
        fixed_effort=base.fixed_effort,
        confirmed=base.confirmed,
        confirmed_only=True,
    )
    runs = tuple(p for p in operation.periods if p in inputs.periods)
    if len(runs) < len(operation.periods):
        raise ValueError(
            f"the forecast ends on {inputs.periods[-1]}, before {operation.operation_id}'s "
            f"periods {', '.join(p for p in operation.periods if p not in inputs.periods)}"
        )
    mine = agreed([ConfirmedOperation.of(operation, runs)], dataset.resources, command)
    need = {
        p: max(0, operation.needs[country].shifts - operation.pledged_shifts(country).get(p, 0))
        for p in runs
    }
    with_rows = tuple(
        Confirmed(operation_id=c.operation_id, period=c.period, reserved=c.reserved,
                  need=need[c.period.isoformat()])
        for c in mine.confirmed
    )  # fmt: skip
    fixed = (*base.fixed_effort, *mine.fixed_effort, *_unpledged(operation, runs, country))
    without = plan_allocation(inputs, solver, time_limit=time_limit)
    with_inputs = dataclasses.replace(
        inputs, confirmed=(*base.confirmed, *with_rows), fixed_effort=fixed
    )
    with_plan = plan_allocation(with_inputs, solver, time_limit=time_limit)
    return PledgeValue(
        operation_id=operation.operation_id,
        country=country,
        periods=runs,
        with_pledge=_value(with_plan, runs),
        without_pledge=_value(without, runs),
        in_operation_regions={
            "with_pledge": _value(with_plan, runs, operation.regions),
            "without_pledge": _value(without, runs, operation.regions),
        },
        need=need,
        suggested_pledge=_suggested(with_plan, operation, need),
        warnings=with_plan.warnings,
    )


def horizon_through(dataset: Dataset, period: str, most: int = 520) -> int:
    """How many periods after the panel's last reach ``period`` (an ISO date); 0 when it is
    not after the panel's last period, ``most + 1`` when it is beyond ``most``."""
    ahead = future_periods(dataset.periods[-1], dataset.frequency, most)
    day = pd.Timestamp(period)
    if day <= dataset.periods[-1]:
        return 0
    found = np.flatnonzero(ahead >= day)
    return most + 1 if not len(found) else int(found[0]) + 1


def _unpledged(
    operation: OperationRecord, runs: tuple[str, ...], country: str
) -> list[FixedEffort]:
    """What every other party still has to pledge, as effort spread over the regions."""
    out = []
    for party in operation.parties:
        if party == country:
            continue
        pledged = operation.pledged_shifts(party)
        for p in runs:
            left = operation.needs[party].shifts - pledged.get(p, 0)
            if left > 0:
                out += spread(operation.operation_id, operation.regions, p, party, left,
                              source=f"need of {party}, not yet pledged")  # fmt: skip
    return out


def _value(plan: Plan, runs: tuple[str, ...], regions: Sequence[str] | None = None) -> float:
    kept = [
        r.expected_interdictions or 0.0
        for r in plan.regions
        if r.period in runs and (regions is None or r.region_id in regions)
    ]
    return float(np.sum(kept))


def _suggested(
    plan: Plan, operation: OperationRecord, need: dict[str, int]
) -> list[dict[str, object]]:
    """The *with* plan's shifts inside the operation's regions, unit by unit, up to the need
    of each period (the units with most shifts there first)."""
    by_unit: dict[str, dict[str, int]] = {}
    for p, n in need.items():
        inside: dict[str, int] = {}
        for a in plan.assignments:
            if a.period == p and a.region_id in operation.regions:
                inside[a.unit_id] = inside.get(a.unit_id, 0) + a.shifts
        left = n
        for unit_id, shifts in sorted(inside.items(), key=lambda kv: (-kv[1], kv[0])):
            if left <= 0:
                break
            take = min(shifts, left)
            by_unit.setdefault(unit_id, {})[p] = take
            left -= take
    return [{"unit_id": u, "shifts": s} for u, s in sorted(by_unit.items())]
