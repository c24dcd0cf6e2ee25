"""What the confirmed joint operations of the shared database bring to one planner's plan.

A confirmed operation binds every party's later plans for its periods
(:class:`~optimize.command.Confirmed`): it is launched, its effort multiplier applies to the
pooled effort of every party, the shifts the planner's own units pledged are reserved inside
its regions, and what the other parties (and the planner's country's other agencies) pledged
is effort already there (:class:`~optimize.command.FixedEffort`). This plan cannot read where
another party's plan sends its pledged units, so their shifts count as spread evenly over the
operation's regions, weighted by the unit's efficiency when the resources know the unit.

A planner's plan (a binding one) launches no other joint operation: an operation is agreed,
not computed, so the resources' candidates appear in it as not launched, with what to do.
The operator's central proposal launches the confirmed operations and may still launch
candidates, as the proposal it is; operations of which the requester's country is no party
are left out of a planner's plan, with the effort they hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crossplan.optimize.command import Command, Confirmed, FixedEffort
from crossplan.optimize.resources import JointOperation, Resources
from crossplan.pipelines.database.operations import ConfirmedOperation

__all__ = ["Agreed", "agreed", "joint_operation", "spread"]


@dataclass(frozen=True)
class Agreed:
    """The parts of a plan's inputs the confirmed operations give.

    Attributes
    ----------
    resources
        The request's resources with the confirmed operations among the joint operations
        (a candidate of the same id replaced).
    confirmed, fixed_effort
        The launches and reservations, and the other parties' pledges, per period.
    confirmed_only
        Whether no other operation may launch (every plan but the operator's).
    warnings
        Candidates a confirmed operation of their id but other parties, regions or
        multiplier replaced: the plan does not consider them (a new operation never takes a
        candidate's id; one stored before, or a candidate added to the resources since, may).
    """

    resources: Resources
    confirmed: tuple[Confirmed, ...]
    fixed_effort: tuple[FixedEffort, ...]
    confirmed_only: bool
    warnings: tuple[str, ...] = ()


def agreed(
    operations: Sequence[ConfirmedOperation], resources: Resources, command: Command
) -> Agreed:
    """The confirmed ``operations`` as inputs of ``command``'s plan (see the module)."""
    units = {u.unit_id: u for u in resources.units}
    mine = [o for o in operations if command.country is None or command.country in o.parties]
    confirmed: list[Confirmed] = []
    fixed: list[FixedEffort] = []
    for op in mine:
        for period in op.periods:
            reserved: dict[str, int] = {}
            for country, pledged in op.pledges.items():
                for p in pledged:
                    shifts = int(p.shifts.get(period, 0))
                    unit = units.get(p.unit_id)
                    if shifts <= 0:
                        continue
                    if unit is not None and unit.country == country and command.commands(unit):
                        reserved[p.unit_id] = reserved.get(p.unit_id, 0) + shifts
                    else:
                        efficiency = 1.0 if unit is None else unit.efficiency
                        fixed += spread(op.operation_id, op.regions, period, country, shifts,
                                        efficiency=efficiency, agency=p.agency,
                                        source=f"pledge of {p.unit_id}")  # fmt: skip
            day = dt.date.fromisoformat(period)
            confirmed.append(Confirmed(operation_id=op.operation_id, period=day, reserved=reserved))
    stored = {o.operation_id: joint_operation(o.operation_id, o.parties, o.regions, o.needs,
                                              o.effort_multiplier) for o in mine}  # fmt: skip
    kept = [j for j in resources.joint_operations if j.operation_id not in stored]
    warnings = tuple(
        f"candidate operation {j.operation_id} of the resources is not planned: the confirmed "
        f"operation {j.operation_id} of the shared database has its id with other {differ} "
        "— fix: give the candidate another id in the resources"
        for j in resources.joint_operations
        if j.operation_id in stored and (differ := _differences(j, stored[j.operation_id]))
    )
    return Agreed(
        resources=resources.model_copy(update={"joint_operations": (*kept, *stored.values())}),
        confirmed=tuple(confirmed),
        fixed_effort=tuple(fixed),
        confirmed_only=command.binding,
        warnings=warnings,
    )


def _differences(candidate: JointOperation, stored: JointOperation) -> str:
    """What differs between a candidate and a stored operation of its id, in words."""
    return ", ".join(
        what
        for what, a, b in (
            ("parties", set(candidate.countries), set(stored.countries)),
            ("regions", set(candidate.regions), set(stored.regions)),
            ("multiplier", candidate.effort_multiplier, stored.effort_multiplier),
        )
        if a != b
    )


def joint_operation(
    operation_id: str,
    parties: Sequence[str],
    regions: Sequence[str],
    needs: Mapping[str, int],
    effort_multiplier: float,
) -> JointOperation:
    """An operation of the shared database as the optimizer's joint operation: launching it
    outside its confirmed periods takes, as any candidate, the largest need from every party."""
    return JointOperation(
        operation_id=operation_id,
        countries=tuple(parties),
        regions=tuple(regions),
        min_shifts_per_country=max(needs.values(), default=0),
        effort_multiplier=effort_multiplier,
    )


def spread(
    operation_id: str,
    regions: Sequence[str],
    period: str,
    country: str,
    shifts: int,
    *,
    efficiency: float = 1.0,
    agency: str | None = None,
    source: str,
) -> list[FixedEffort]:
    """``shifts`` of ``country`` that this plan cannot place, as fixed effort spread over an
    operation's ``regions`` in ``period`` (ISO date): whole shifts round-robin, effort evenly
    (times ``efficiency``); ``source`` follows the operation's id."""
    day = dt.date.fromisoformat(period)
    n = len(regions)
    return [
        FixedEffort(
            region_id=region,
            period=day,
            country=country,
            agency=agency,
            shifts=shifts // n + (1 if k < shifts % n else 0),
            effort=efficiency * shifts / n,
            source=f"{operation_id}: {source}",
        )
        for k, region in enumerate(regions)
    ]
