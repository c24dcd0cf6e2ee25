"""Planning inputs as types: units, agreements, joint operations, policy, regions, forecast,
who plans (the command) and the effort others have committed.

:class:`Inputs` is validated when created and then never changes; which unit may work where
in this plan (:class:`~optimize.eligibility.Eligibility`: nowhere for a unit the plan does
not command), the fixed effort as arrays and which joint operations can be staffed are
computed from it once, on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from crossplan.optimize.command import Command, Confirmed, FixedEffort, FixedTable, fixed_table
from crossplan.optimize.eligibility import Eligibility, compute_eligibility
from crossplan.optimize.errors import InputError, InputProblem
from crossplan.optimize.forecast import Forecast
from crossplan.optimize.region_table import RegionTable
from crossplan.optimize.resources import (
    Agreement,
    JointOperation,
    Policy,
    Resources,
    Unit,
    parse_resources,
    reference_problems,
)
from crossplan.optimize.staffing import Staffing, operation_staffing

__all__ = ["Inputs"]


@dataclass(frozen=True, eq=False)
class Inputs:
    """Everything one planning call needs; validated on creation.

    Parameters
    ----------
    units, regions, forecast
        Who can patrol, where, and what is expected to happen there.
    agreements, joint_operations, policy
        Cross-border rules, candidate operations and the planning policy.
    recent_counts
        Recent observed counts per region, for the *proportional* baseline (current
        practice); ``None`` leaves that baseline out.
    command
        Who plans: the plan assigns only the units it commands (default: the operator,
        every unit, binding on no one).
    fixed_effort
        Effort other agencies have committed (:class:`~optimize.command.FixedEffort`);
        rows of periods not planned are left out.
    confirmed
        Joint operations their parties confirmed (:class:`~optimize.command.Confirmed`),
        launched in their periods, with the shifts this plan's units pledged reserved;
        rows of periods not planned are left out.
    confirmed_only
        Launch no joint operation but the confirmed ones: a party's plan where operations
        are agreed in a shared database (an operation launches once every party pledged).

    Raises
    ------
    InputError
        Listing every problem: unknown regions, non-positive capacities, bad policy...
    """

    units: tuple[Unit, ...]
    regions: RegionTable
    forecast: Forecast
    agreements: tuple[Agreement, ...] = ()
    joint_operations: tuple[JointOperation, ...] = ()
    policy: Policy = field(default_factory=Policy)
    recent_counts: Mapping[str, float] | None = None
    command: Command = field(default_factory=Command)
    fixed_effort: tuple[FixedEffort, ...] = ()
    confirmed: tuple[Confirmed, ...] = ()
    confirmed_only: bool = False

    def __post_init__(self) -> None:
        problems = _check_inputs(self)
        if problems:
            raise InputError(problems)

    @cached_property
    def commanded(self) -> np.ndarray:
        """Whether the plan may assign each unit (:meth:`Command.commands`)."""
        return np.array([self.command.commands(u) for u in self.units], dtype=bool)

    @cached_property
    def eligibility(self) -> Eligibility:
        """Which unit may work in which region in this plan (computed once): where its
        jurisdiction, agreements and reach allow, and nowhere when it is not commanded."""
        found = compute_eligibility(self.units, self.regions, self.agreements)
        return Eligibility(matrix=found.matrix & self.commanded[:, None])

    @cached_property
    def floor_regions(self) -> np.ndarray:
        """Regions the policy's floor applies to: every region in the operator's plan; in
        another, the planner's own country's regions its units may work in (a region it
        cannot reach is another planner's to cover)."""
        if self.command.country is None:
            return np.ones(len(self.regions.region_ids), dtype=bool)
        own = np.asarray(self.regions.countries, dtype=object) == self.command.country
        return np.asarray(own & self.eligibility.matrix.any(axis=0))

    @cached_property
    def fixed(self) -> FixedTable:
        """Fixed effort of the planned periods, as arrays."""
        return fixed_table(self.fixed_effort, self.regions.index, self.periods)

    @cached_property
    def forced(self) -> np.ndarray:
        """Boolean array (operations, periods): launched because its parties confirmed it."""
        forced = np.zeros((len(self.joint_operations), len(self.periods)), dtype=bool)
        for (j, t), _ in self.reservations.items():
            forced[j, t] = True
        return forced

    @cached_property
    def _confirmed_cells(self) -> list[tuple[tuple[int, int], Confirmed]]:
        """Each confirmed row of a planned period with its ``(operation, period)`` indices."""
        op_index = {op.operation_id: j for j, op in enumerate(self.joint_operations)}
        column = {p: t for t, p in enumerate(self.periods)}
        return [
            ((op_index[row.operation_id], column[row.period.isoformat()]), row)
            for row in self.confirmed
            if row.period.isoformat() in column
        ]

    @cached_property
    def reservations(self) -> dict[tuple[int, int], dict[int, int]]:
        """``(operation, period)`` → unit index → shifts reserved, for every confirmed
        operation of a planned period (an empty mapping when none of its units is ours)."""
        unit_index = {u.unit_id: i for i, u in enumerate(self.units)}
        out: dict[tuple[int, int], dict[int, int]] = {}
        for cell, row in self._confirmed_cells:
            kept = out.setdefault(cell, {})
            for unit_id, shifts in row.reserved.items():
                u = unit_index[unit_id]
                kept[u] = kept.get(u, 0) + shifts
        return out

    @cached_property
    def weighed(self) -> dict[tuple[int, int], int]:
        """``(operation, period)`` → shifts the plan's units must add inside a confirmed
        operation's regions, besides the reserved ones (:attr:`Confirmed.need`)."""
        out: dict[tuple[int, int], int] = {}
        for cell, row in self._confirmed_cells:
            if row.need > 0:
                out[cell] = out.get(cell, 0) + row.need
        return out

    @cached_property
    def staffing(self) -> Staffing:
        """Which joint operations can be staffed in which period, and why not."""
        return operation_staffing(
            self.units,
            self.regions.index,
            self.joint_operations,
            self.command,
            self.periods,
            self.eligibility.matrix,
            self.fixed,
            self.forced,
            self.confirmed_only,
        )

    @cached_property
    def activity(self) -> np.ndarray:
        """Forecast activity at the policy's risk quantile, shape (regions, categories, periods)."""
        return self.forecast.at_quantile(self.policy.risk_quantile)

    @property
    def periods(self) -> tuple[str, ...]:
        """Planned periods as ISO dates."""
        return self.forecast.period_labels

    @classmethod
    def from_resources(
        cls,
        resources: Resources | Mapping[str, Any],
        regions: pd.DataFrame,
        forecast: pd.DataFrame,
        recent_counts: Mapping[str, float] | None = None,
        *,
        horizon: int | None = None,
        forecast_source: str = "forecast",
        command: Command | None = None,
        fixed_effort: tuple[FixedEffort, ...] = (),
        confirmed: tuple[Confirmed, ...] = (),
        confirmed_only: bool = False,
    ) -> Inputs:
        """Inputs from a resources JSON dict, a region table and a forecast.

        Parameters
        ----------
        resources
            The resources contract, or its JSON document.
        regions
            Table with ``region_id``, ``country``, ``lon``, ``lat``.
        forecast
            Forecast table (docs/design.md, "Forecast semantics").
        recent_counts
            Recent observed counts per region (proportional baseline).
        horizon
            Plan only the first ``horizon`` periods of the forecast.
        forecast_source
            Name of the forecast in error messages.
        command, fixed_effort, confirmed, confirmed_only
            Who plans (default: the operator), what others have committed, the joint
            operations confirmed by their parties, and whether only those may launch.
        """
        table = RegionTable.from_frame(regions)
        fc = Forecast.from_frame(
            forecast, table.region_ids, horizon=horizon, source=forecast_source
        )
        doc = parse_resources(resources)
        return cls(
            units=doc.units,
            regions=table,
            forecast=fc,
            agreements=doc.agreements,
            joint_operations=doc.joint_operations,
            policy=doc.policy,
            recent_counts=(
                None
                if recent_counts is None
                else {str(k): float(v) for k, v in recent_counts.items()}
            ),
            command=command or Command(),
            fixed_effort=tuple(fixed_effort),
            confirmed=tuple(confirmed),
            confirmed_only=confirmed_only,
        )


def _check_inputs(inputs: Inputs) -> list[InputProblem]:
    """What the region table does not resolve; the fields were checked on creation."""
    resources = Resources(
        units=inputs.units,
        agreements=inputs.agreements,
        joint_operations=inputs.joint_operations,
        policy=inputs.policy,
    )
    country_of = dict(zip(inputs.regions.region_ids, inputs.regions.countries, strict=True))
    problems = reference_problems(resources, country_of)
    for i, row in enumerate(inputs.fixed_effort):
        if row.region_id not in country_of:
            problems.append(
                InputProblem(
                    f"fixed_effort[{i}]",
                    f"unknown region '{row.region_id}'",
                    "use a region_id of the regions file",
                    "region_id",
                )
            )
    return problems + _confirmed_problems(inputs)


def _confirmed_problems(inputs: Inputs) -> list[InputProblem]:
    """Confirmed operations that are not among the joint operations, and reserved units the
    plan does not command (another agency's pledge is fixed effort, not a reservation)."""
    ops = {op.operation_id for op in inputs.joint_operations}
    units = {u.unit_id: u for u in inputs.units}
    problems = []
    for i, row in enumerate(inputs.confirmed):
        if row.operation_id not in ops:
            problems.append(
                InputProblem(
                    f"confirmed[{i}]",
                    f"unknown joint operation '{row.operation_id}'",
                    "list it under joint_operations",
                    "operation_id",
                )
            )
        for unit_id in row.reserved:
            unit = units.get(unit_id)
            if unit is None or not inputs.command.commands(unit):
                said = "unknown unit" if unit is None else "a unit this plan does not command"
                problems.append(
                    InputProblem(
                        f"confirmed[{i}]",
                        f"{said} '{unit_id}' in reserved",
                        "reserve only units the plan commands; give other agencies' "
                        "pledges as fixed effort",
                        "reserved",
                    )
                )
    return problems
