"""What moved between two plans: shifts per unit, period and region, joint operations
launched in one and not the other, and the figures.

Both plans are compared *as their reader reads them* (:meth:`serving.sharing.SharingPolicy.plan`
for the HTTP door, the operator's reading for the command line): a difference the reader may
not read in either plan is not in the answer. Figures (the objective, the baselines) are
compared only where the reader reads them in both plans; otherwise the answer says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import groupby
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["FigureChange", "OperationChange", "PlanDiff", "ShiftChange", "diff_plans", "diff_text"]

_FIGURES = ("objective", "uniform", "proportional")
_WORDS = {
    "objective": "Expected interdictions",
    "uniform": "Uniform policy would give",
    "proportional": "Proportional policy would give",
}


class ShiftChange(BaseModel):
    """A unit's shifts in one region and period, in plan A and in plan B."""

    unit_id: str = Field(description="The unit")
    period: str = Field(description="Start of the period (ISO date)")
    region_id: str = Field(description="The region")
    region_name: str | None = Field(default=None, description="Its name")
    before: int = Field(ge=0, description="Shifts in plan A (0: none)")
    after: int = Field(ge=0, description="Shifts in plan B (0: none)")


class OperationChange(BaseModel):
    """A joint operation launched in a period by one plan and not by the other."""

    operation_id: str = Field(description="The joint operation")
    period: str = Field(description="Start of the period (ISO date)")
    launched_in: str = Field(description="'a' or 'b': the plan that launches it")


class FigureChange(BaseModel):
    """A figure of the plans that differs."""

    name: str = Field(description="'objective', 'uniform' or 'proportional'")
    before: float = Field(description="In plan A")
    after: float = Field(description="In plan B")


class PlanDiff(BaseModel):
    """What moved from plan A to plan B, as the reader reads both."""

    a: str = Field(description="Plan A's id")
    b: str = Field(description="Plan B's id")
    shifts: list[ShiftChange] = Field(
        description="Every unit, period and region whose shifts differ, by unit, period, region"
    )
    operations: list[OperationChange] = Field(
        description="Joint operations launched in one plan and not the other"
    )
    figures: list[FigureChange] = Field(
        description="Expected interdictions and the baselines, where they differ"
    )
    figures_withheld: bool = Field(
        description="Whether the reader may not read the figures of one plan or both: then "
        "they are not compared"
    )
    empty: bool = Field(description="Whether nothing the reader may read moved")
    summary: str = Field(description="The difference in words")


def diff_plans(
    a: Mapping[str, Any], b: Mapping[str, Any], region_names: Mapping[str, str] | None = None
) -> PlanDiff:
    """What moved from plan body ``a`` to plan body ``b``; ``region_names`` name the regions
    of plans stored before they named them."""
    before, names = _shifts(a)
    after, more = _shifts(b)
    names = {**(region_names or {}), **names, **more}
    shifts = [
        ShiftChange(
            unit_id=unit,
            period=period,
            region_id=region,
            region_name=names.get(region),
            before=before.get((unit, period, region), 0),
            after=after.get((unit, period, region), 0),
        )
        for unit, period, region in sorted(before.keys() | after.keys())
        if before.get((unit, period, region), 0) != after.get((unit, period, region), 0)
    ]
    in_a, in_b = _launched(a), _launched(b)
    operations = [
        OperationChange(
            operation_id=op, period=period, launched_in="a" if (op, period) in in_a else "b"
        )
        for op, period in sorted(in_a ^ in_b)
    ]
    fig_a, fig_b = _figures(a), _figures(b)
    withheld = any(v is None for v in (*fig_a.values(), *fig_b.values()))
    figures = [
        FigureChange(name=name, before=before_, after=after_)
        for name in _FIGURES
        if (before_ := fig_a[name]) is not None
        and (after_ := fig_b[name]) is not None
        and not math.isclose(before_, after_, rel_tol=1e-9, abs_tol=1e-9)
    ]
    diff = PlanDiff(
        a=str(a.get("plan_id") or ""),
        b=str(b.get("plan_id") or ""),
        shifts=shifts,
        operations=operations,
        figures=figures,
        figures_withheld=withheld,
        empty=not (shifts or operations or figures),
        summary="",
    )
    return diff.model_copy(update={"summary": diff_text(diff)})


def diff_text(diff: PlanDiff) -> str:
    """The difference in lines a planner reads: per unit and period, the regions that moved."""
    lines = [f"Plan A {diff.a[:8]} → plan B {diff.b[:8]}"]
    if diff.empty:
        lines.append(
            "No difference: every unit has the same shifts in the same regions and periods, "
            "the same joint operations are launched"
            + (
                " (figures not compared: one plan or both have none you may read)."
                if diff.figures_withheld
                else ", and the figures are the same."
            )
        )
        return "\n".join(lines)
    if diff.shifts:
        lines.append("Shifts that moved (A → B):")
    for (unit, period), changes in groupby(diff.shifts, key=lambda c: (c.unit_id, c.period)):
        moved = "; ".join(
            f"{c.region_id}{f' {c.region_name}' if c.region_name else ''} {c.before} → {c.after}"
            for c in changes
        )
        lines.append(f"  {unit}, {period}: {moved}")
    if diff.operations:
        lines.append("Joint operations launched in one plan only:")
    for o in diff.operations:
        lines.append(
            f"  {o.operation_id}, {o.period}: launched in plan {o.launched_in.upper()} only"
        )
    for f in diff.figures:
        lines.append(
            f"{_WORDS[f.name]}: {f.before:,.2f} → {f.after:,.2f} ({f.after - f.before:+,.2f})"
        )
    if diff.figures_withheld:
        lines.append("Figures not compared: one plan or both have none you may read.")
    return "\n".join(lines)


def _shifts(plan: Mapping[str, Any]) -> tuple[dict[tuple[str, str, str], int], dict[str, str]]:
    shifts: dict[tuple[str, str, str], int] = {}
    names: dict[str, str] = {}
    for a in plan.get("assignments", ()):
        key = (a["unit_id"], a["period"], a["region_id"])
        shifts[key] = shifts.get(key, 0) + int(a["shifts"])
        if a.get("region_name"):
            names[a["region_id"]] = a["region_name"]
    return {k: n for k, n in shifts.items() if n}, names


def _launched(plan: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (o["operation_id"], state["period"])
        for o in plan.get("joint_operations", ())
        for state in o.get("periods", ())
        if state.get("launched")
    }


def _figures(plan: Mapping[str, Any]) -> dict[str, float | None]:
    baselines = plan.get("baselines") or {}
    return {
        "objective": plan.get("objective"),
        "uniform": baselines.get("uniform"),
        "proportional": baselines.get("proportional"),
    }
