"""The result of a planning call: :class:`Plan`, the one definition of the plan.

Its fields are those of docs/design.md, "Reference allocation model". The types are
pydantic dataclasses: the optimizer builds them positionally like any dataclass, and the
same types give the plan's JSON (:meth:`Plan.to_dict`) and the schema the HTTP service
publishes and checks its answers against.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationInfo, field_serializer, field_validator
from pydantic.dataclasses import dataclass

from crossplan.optimize.command import Command, Confirmed, FixedEffort

__all__ = [
    "Assignment",
    "Finding",
    "OperationOutcome",
    "OperationPeriod",
    "Plan",
    "RegionOutcome",
    "Status",
    "group_operation_rows",
]

_ISO_DATE = "Start of the period (ISO date)"
_REGION_NAME = "The region's name, as the regions file gives it (null: none given)"


class Status(StrEnum):
    """How the solve ended.

    ``optimal``: proved optimal within the relative gap asked for. ``feasible``: a plan, but
    the solver stopped early for another reason than time. ``time_limit``: a plan, stopped by
    the time limit. ``infeasible``: no plan meets every constraint (see the diagnosis).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class Finding:
    """A constraint that cannot be met, and by how much.

    Parameters
    ----------
    constraint
        Constraint name, e.g. ``floor[r017,2026-03-02]`` (``*`` stands for every region).
    shortfall
        How far the constraint is from being met, in ``unit``.
    unit
        ``shifts`` or ``cost``.
    message
        What is wrong, in words, with the amount.
    source
        ``pre-solve check`` or ``elastic re-solve``.
    """

    constraint: Annotated[str, Field(description="Constraint name, e.g. 'floor[r017,2026-03-02]'")]
    shortfall: Annotated[float, Field(description="How far it is from being met, in `unit`")]
    unit: Annotated[str, Field(description="'shifts' or 'cost'")]
    message: Annotated[str, Field(description="What cannot be met, in words")]
    source: Annotated[str, Field(description="'pre-solve check' or 'elastic re-solve'")]

    def __str__(self) -> str:
        return f"{self.constraint}: {self.message}"


@dataclass(frozen=True)
class Assignment:
    """Shifts of one unit in one region and period."""

    unit_id: Annotated[str, Field(description="The unit")]
    period: Annotated[str, Field(description=_ISO_DATE)]
    region_id: Annotated[str, Field(description="Where it works")]
    shifts: Annotated[int, Field(ge=0, description="Shifts it works there in that period")]
    # Defaults: the optimizer knows ids only; plans stored before names were added have none.
    region_name: str | None = Field(default=None, description=_REGION_NAME)


# Figures made from counts are null where a plan is read by another agency than the one that
# made it, which may not read those counts (the service's sharing rules).
_WITHHELD = "; null in a plan another agency made"


@dataclass(frozen=True)
class RegionOutcome:
    """What the plan does in one region and period.

    ``effort`` is effective effort (efficiency-weighted shifts times any joint operation's
    multiplier); ``expected_interdictions`` is exact, not piecewise; ``marginal_value`` is
    the gain in expected interdictions from one more shift of efficiency 1, in expected
    interdictions per extra shift.
    """

    region_id: Annotated[str, Field(description="The region")]
    period: Annotated[str, Field(description=_ISO_DATE)]
    shifts: Annotated[int, Field(ge=0, description="Shifts planned here")]
    effort: Annotated[
        float, Field(description="Effective effort: efficiency-weighted shifts, joint boost")
    ]
    expected_activity: Annotated[
        float | None,
        Field(description=f"Activity planned on (at the risk quantile){_WITHHELD}"),
    ]
    expected_interdictions: Annotated[
        float | None, Field(description=f"Exact expected interdictions{_WITHHELD}")
    ]
    marginal_value: Annotated[
        float | None,
        Field(
            description="What one more shift (of efficiency 1) here would add, in expected "
            f"interdictions per extra shift; the exact gain, not the piecewise one{_WITHHELD}"
        ),
    ]
    region_name: str | None = Field(default=None, description=_REGION_NAME)


@dataclass(frozen=True)
class OperationPeriod:
    """A joint operation in one period: launched or not and why not, and each country's
    shifts there (its units' in this plan and what it committed as fixed effort)."""

    period: Annotated[str, Field(description=_ISO_DATE)]
    launched: Annotated[bool, Field(description="Whether it is launched in this period")]
    commitments: Annotated[
        Mapping[str, int],
        Field(description="Shifts per country inside its regions, fixed effort included"),
    ]
    # Defaults: plans stored before these fields were added have neither.
    status: Literal["launched", "not launched"] = Field(
        default=None,
        validate_default=True,
        description="'launched' or 'not launched'",
    )
    confirmed: bool = Field(
        default=False,
        description="Whether its parties confirmed it for this period: then it is launched "
        "in every party's plan, with the pledged shifts reserved",
    )
    reason: str | None = Field(
        default=None,
        description="Why it is not launched: a party that cannot staff it (with no unit this "
        "plan commands within reach, and not enough pledged), the policy's cap, or a better "
        "use of the shifts; null when launched",
    )

    @field_validator("status", mode="before")
    @classmethod
    def _status_of_launched(cls, status: Any, info: ValidationInfo) -> Any:
        if status is None:
            return "launched" if info.data.get("launched") else "not launched"
        return status


@dataclass(frozen=True)
class OperationOutcome:
    """A candidate joint operation: its regions and what the plan does with it in each
    planned period."""

    operation_id: Annotated[str, Field(description="The joint operation")]
    periods: tuple[OperationPeriod, ...] = Field(
        default=(), description="Its state in each planned period, in period order"
    )
    regions: tuple[str, ...] = Field(
        default=(),
        description="The regions it covers (empty in plans stored before they were listed)",
    )

    @property
    def launched(self) -> bool:
        """Whether it is launched in some planned period."""
        return any(p.launched for p in self.periods)


def group_operation_rows(rows: Any) -> Any:
    """Joint operations as a plan's JSON gives them, one entry per operation with its
    periods, from either that form or the one row per operation and period of plans stored
    before operations were grouped; anything else is returned as it is, for validation to
    refuse."""
    if not isinstance(rows, list | tuple) or not all(
        isinstance(r, Mapping) and "period" in r for r in rows
    ):
        return rows
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        state = {k: v for k, v in row.items() if k not in ("operation_id", "regions")}
        entry = grouped.setdefault(
            row.get("operation_id"),
            {"operation_id": row.get("operation_id"), "regions": [], "periods": []},
        )
        entry["regions"] = entry["regions"] or list(row.get("regions") or ())
        entry["periods"].append(state)
    for entry in grouped.values():
        entry["periods"].sort(key=lambda p: str(p.get("period")))
    return list(grouped.values())


@dataclass(frozen=True, eq=False)
class Plan:
    """A plan, its explanations, or (``status`` infeasible) the diagnosis.

    ``objective`` is the exact expected number of interdictions; ``piecewise_objective``
    what the model saw; ``upper_bound`` bounds the exact value of *any* feasible plan
    (solver bound divided by 1 − ``approximation_error``); ``gap`` is the solver's relative
    gap, ``(bound − value) / value`` on the piecewise objective.
    """

    status: Annotated[
        Status,
        Field(description="How the solve ended; 'time_limit': the best plan found in time"),
    ]
    solver: Annotated[str, Field(description="'cbc' or 'highs'")]
    periods: Annotated[tuple[str, ...], Field(description="Planned periods (ISO dates)")]
    objective: float | None = Field(
        default=None, description="Exact expected interdictions over all periods"
    )
    piecewise_objective: float | None = Field(
        default=None, description="Objective of the piecewise-linear model the solver saw"
    )
    upper_bound: float | None = Field(
        default=None, description="Bound on the exact objective of any feasible plan"
    )
    gap: float | None = Field(
        default=None, description="Relative optimality gap at the end of the solve"
    )
    approximation_error: float | None = Field(
        default=None, description="Largest relative error of the piecewise-linear curve"
    )
    solve_seconds: float = Field(default=0.0, description="Time the solver took")
    build_seconds: float = Field(default=0.0, description="Time to build the model")
    assignments: tuple[Assignment, ...] = Field(
        default=(), description="Shifts per unit, region and period"
    )
    regions: tuple[RegionOutcome, ...] = Field(
        default=(), description="Outcome per region and period"
    )
    joint_operations: tuple[OperationOutcome, ...] = Field(
        default=(),
        description="Each candidate joint operation, with its state in each planned period",
    )
    baselines: Mapping[str, float | None] = Field(
        default_factory=dict,
        description="Exact objective of the uniform and proportional policies on this forecast",
    )
    binding_constraints: tuple[str, ...] = Field(
        default=(), description="Names of the constraints that bind"
    )
    diagnosis: tuple[Finding, ...] | None = Field(
        default=(), description="Why there is no plan, when infeasible (null otherwise)"
    )
    warnings: tuple[str, ...] = Field(default=(), description="Things to know about the plan")
    binding: bool = Field(
        default=False,
        description="Whether the units it assigns follow it: an agency's or a national "
        "centre's plan of the units it commands does; the operator's central proposal binds "
        "no one",
    )
    command: Command = Field(
        default_factory=Command,
        description="Who plans, and so which units it may assign: the agency's units, every "
        "unit of the country (scope 'national'), or every unit (no country: the operator)",
    )
    fixed_effort: tuple[FixedEffort, ...] = Field(
        default=(),
        description="Effort other agencies have committed in the planned periods (e.g. "
        "pledges to joint operations): counted in effort, interdictions and commitments, "
        "never assigned or moved by this plan",
    )
    confirmed: tuple[Confirmed, ...] = Field(
        default=(),
        description="Joint operations their parties confirmed, per planned period: launched, "
        "with the shifts this plan's units pledged reserved inside their regions",
    )

    @field_validator("joint_operations", mode="before")
    @classmethod
    def _grouped(cls, operations: Any) -> Any:
        # Plans stored before operations were grouped give one row per operation and period.
        return group_operation_rows(operations)

    @field_serializer("diagnosis")
    def _diagnosis_when_infeasible(
        self, diagnosis: tuple[Finding, ...] | None
    ) -> list[dict[str, Any]] | None:
        if self.status is not Status.INFEASIBLE:
            return None
        return [_FINDING.dump_python(f, mode="json") for f in diagnosis or ()]

    @property
    def feasible(self) -> bool:
        """Whether the plan has assignments that meet every constraint."""
        return self.status is not Status.INFEASIBLE

    def _period(self, period: str | None) -> str:
        if period is None:
            return self.periods[0]
        label = str(period)[:10]
        if label not in self.periods:
            raise KeyError(f"period {period!r} is not planned; planned: {list(self.periods)}")
        return label

    def effort_by_region(self, period: str | None = None) -> dict[str, float]:
        """Effective effort per region in ``period`` (default: the first), every region."""
        p = self._period(period)
        return {o.region_id: o.effort for o in self.regions if o.period == p}

    def shifts_by_region(self, period: str | None = None) -> dict[str, int]:
        """Shifts per region in ``period`` (default: the first), every region."""
        p = self._period(period)
        return {o.region_id: o.shifts for o in self.regions if o.period == p}

    def operation_periods(self) -> Iterator[tuple[OperationOutcome, OperationPeriod]]:
        """Each joint operation with its state in one period: one pair per operation and
        planned period, by operation then period."""
        for operation in self.joint_operations:
            for state in operation.periods:
                yield operation, state

    def with_names(
        self, region_names: Mapping[str, str], operation_regions: Mapping[str, Sequence[str]]
    ) -> Plan:
        """The plan with each region's name beside its id, and each joint operation's regions:
        what a reader of the JSON would otherwise look up elsewhere."""

        def named(row: Any) -> Any:
            return replace(row, region_name=region_names.get(row.region_id))

        return replace(
            self,
            assignments=tuple(named(a) for a in self.assignments),
            regions=tuple(named(r) for r in self.regions),
            joint_operations=tuple(
                replace(o, regions=tuple(operation_regions.get(o.operation_id, ())))
                for o in self.joint_operations
            ),
        )

    def diagnosis_text(self) -> str:
        """The diagnosis as lines a user can read."""
        return "\n".join(f"  - {f}" for f in self.diagnosis or ())

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON object (plain Python types only)."""
        return dict(_adapter(type(self)).dump_python(self, mode="json"))


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(kind: type) -> TypeAdapter[Any]:
    """One adapter per plan type (a subclass adds fields, e.g. the service's envelope)."""
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(kind)
    return _ADAPTERS[kind]


_FINDING = TypeAdapter(Finding)
