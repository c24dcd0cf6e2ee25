"""What a plan tells its planner about the inputs, though it does not stop the plan."""

from __future__ import annotations

import numpy as np

from crossplan.optimize.inputs import Inputs

__all__ = ["input_warnings"]


def _unkept_pledges(inputs: Inputs) -> list[str]:
    """Pledged shifts to confirmed operations a unit cannot work: beyond its capacity, or
    with no region of the operation it may work in."""
    out = []
    index = inputs.regions.index
    for (j, t), units in sorted(inputs.reservations.items()):
        op = inputs.joint_operations[j]
        cols = sorted({index[r] for r in op.regions})
        for u, shifts in sorted(units.items()):
            unit, period = inputs.units[u], inputs.periods[t]
            if not inputs.eligibility.matrix[u, cols].any():
                out.append(
                    f"{unit.unit_id} pledged {shifts} shift(s) to {op.operation_id} in {period} "
                    "but may work in none of its regions: the pledge is not kept — fix: pledge "
                    "another unit, or cancel the operation"
                )
            elif shifts > unit.shifts_per_period:
                out.append(
                    f"{unit.unit_id} pledged {shifts} shift(s) to {op.operation_id} in {period} "
                    f"but has {unit.shifts_per_period}: all of them are reserved"
                )
    return out


def input_warnings(inputs: Inputs) -> tuple[str, ...]:
    """Things in the inputs a planner should know about, though they do not stop a plan."""
    command = inputs.command
    warnings = []
    if not command.binding:
        warnings.append(
            "a central proposal: the operator plans every unit, and no agency is bound by "
            "it; each agency's planner plans its own units"
        )
    if not inputs.commanded.any():
        warnings.append(f"{command.planner} commands no unit of the resources: no shift is planned")
    warnings += [
        f"unit {inputs.units[u].unit_id} may work in no region; it gets no shifts"
        for u in np.flatnonzero(inputs.commanded & ~inputs.eligibility.matrix.any(axis=1))
    ]
    warnings += _unkept_pledges(inputs)
    missing = inputs.forecast.missing_regions
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        warnings.append(
            f"{len(missing)} region(s) have no forecast rows and count as no activity: {shown}"
        )
    return tuple(warnings)
