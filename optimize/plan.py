"""The result of a planning call: a JSON-serialisable :class:`Plan` (DESIGN.md's plan)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Assignment",
    "Finding",
    "OperationOutcome",
    "Plan",
    "RegionOutcome",
    "Status",
]


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

    constraint: str
    shortfall: float
    unit: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"{self.constraint}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "constraint": self.constraint,
            "shortfall": float(self.shortfall),
            "unit": self.unit,
            "message": self.message,
            "source": self.source,
        }


@dataclass(frozen=True)
class Assignment:
    """Shifts of one unit in one region and period."""

    unit_id: str
    period: str
    region_id: str
    shifts: int


@dataclass(frozen=True)
class RegionOutcome:
    """What the plan does in one region and period.

    ``effort`` is effective effort (efficiency-weighted shifts times any joint operation's
    multiplier); ``expected_interdictions`` is exact, not piecewise; ``marginal_value`` is
    the gain in expected interdictions from one more shift of efficiency 1.
    """

    region_id: str
    period: str
    shifts: int
    effort: float
    expected_activity: float
    expected_interdictions: float
    marginal_value: float


@dataclass(frozen=True)
class OperationOutcome:
    """A joint operation in one period: launched or not, and each country's shifts there."""

    operation_id: str
    period: str
    launched: bool
    commitments: Mapping[str, int]


@dataclass(frozen=True, eq=False)
class Plan:
    """A plan, its explanations, or (``status`` infeasible) the diagnosis.

    ``objective`` is the exact expected number of interdictions; ``piecewise_objective``
    what the model saw; ``upper_bound`` bounds the exact value of *any* feasible plan
    (solver bound divided by 1 − ``approximation_error``); ``gap`` is the solver's relative
    gap, ``(bound − value) / value`` on the piecewise objective.
    """

    status: Status
    solver: str
    periods: tuple[str, ...]
    objective: float | None = None
    piecewise_objective: float | None = None
    upper_bound: float | None = None
    gap: float | None = None
    approximation_error: float | None = None
    solve_seconds: float = 0.0
    build_seconds: float = 0.0
    assignments: tuple[Assignment, ...] = ()
    regions: tuple[RegionOutcome, ...] = ()
    joint_operations: tuple[OperationOutcome, ...] = ()
    baselines: Mapping[str, float | None] = field(default_factory=dict)
    binding_constraints: tuple[str, ...] = ()
    diagnosis: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()

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

    def diagnosis_text(self) -> str:
        """The diagnosis as lines a user can read."""
        return "\n".join(f"  - {f}" for f in self.diagnosis)

    def to_dict(self) -> dict[str, Any]:
        """The plan as DESIGN.md's JSON object (plain Python types only)."""
        return {
            "status": self.status.value,
            "objective": _num(self.objective),
            "gap": _num(self.gap),
            "solver": self.solver,
            "solve_seconds": float(self.solve_seconds),
            "periods": list(self.periods),
            "assignments": [
                {
                    "unit_id": a.unit_id,
                    "period": a.period,
                    "region_id": a.region_id,
                    "shifts": int(a.shifts),
                }
                for a in self.assignments
            ],
            "regions": [
                {
                    "region_id": o.region_id,
                    "period": o.period,
                    "shifts": int(o.shifts),
                    "effort": float(o.effort),
                    "expected_activity": float(o.expected_activity),
                    "expected_interdictions": float(o.expected_interdictions),
                    "marginal_value": float(o.marginal_value),
                }
                for o in self.regions
            ],
            "joint_operations": [
                {
                    "operation_id": o.operation_id,
                    "period": o.period,
                    "launched": bool(o.launched),
                    "commitments": {c: int(n) for c, n in o.commitments.items()},
                }
                for o in self.joint_operations
            ],
            "baselines": {k: _num(v) for k, v in self.baselines.items()},
            "binding_constraints": list(self.binding_constraints),
            "diagnosis": ([f.to_dict() for f in self.diagnosis] if not self.feasible else None),
            "piecewise_objective": _num(self.piecewise_objective),
            "upper_bound": _num(self.upper_bound),
            "approximation_error": _num(self.approximation_error),
            "build_seconds": float(self.build_seconds),
            "warnings": list(self.warnings),
        }


def _num(value: float | None) -> float | None:
    return None if value is None else float(value)
