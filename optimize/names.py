"""Names of the model's constraints, e.g. ``capacity[GRC-BP-01,2026-03-02]``.

One place for them, so the builder, the explanations and the diagnosis say the same thing.
"""

from __future__ import annotations

__all__ = [
    "REPORTED_FAMILIES",
    "budget",
    "capacity",
    "commitment",
    "effort",
    "family",
    "floor",
    "joint_all",
    "joint_boost",
    "joint_limit",
    "joint_part",
    "jurisdiction",
    "reserved",
    "share_cap",
    "total_shifts",
]

# Families a planner can act on; the others only define effort and are always tight.
REPORTED_FAMILIES = (
    "capacity",
    "budget",
    "floor",
    "share_cap",
    "commitment",
    "joint_limit",
    "reserved",
    "jurisdiction",
)


def capacity(unit_id: str, period: str) -> str:
    """A unit's shifts in a period are at most its capacity."""
    return f"capacity[{unit_id},{period}]"


def budget(period: str) -> str:
    """The cost of a period's shifts is at most the budget."""
    return f"budget[{period}]"


def floor(region_id: str, period: str) -> str:
    """A region gets at least the policy's minimum shifts."""
    return f"floor[{region_id},{period}]"


def share_cap(region_id: str, period: str) -> str:
    """A region gets at most the policy's share of a period's shifts."""
    return f"share_cap[{region_id},{period}]"


def commitment(operation_id: str, country: str, period: str) -> str:
    """A launched operation gets its minimum shifts from a country."""
    return f"commitment[{operation_id},{country},{period}]"


def reserved(operation_id: str, unit_id: str, period: str) -> str:
    """A unit works the shifts it pledged to a confirmed operation inside its regions."""
    return f"reserved[{operation_id},{unit_id},{period}]"


def joint_limit(period: str) -> str:
    """At most the policy's number of joint operations are launched in a period."""
    return f"joint_limit[{period}]"


def jurisdiction(unit_id: str, region_id: str) -> str:
    """A unit may not work in a region (country, agreements, distance)."""
    return f"jurisdiction[{unit_id},{region_id}]"


def effort(region_id: str, period: str) -> str:
    """Links the piecewise curve to the shifts placed in a region."""
    return f"effort[{region_id},{period}]"


def total_shifts(period: str) -> str:
    """Defines a period's total shifts (the base of the share caps)."""
    return f"total_shifts[{period}]"


def joint_part(operation_id: str, unit_id: str, region_id: str, period: str) -> str:
    """A unit's boosted shifts in a region are at most its shifts there."""
    return f"joint_part[{operation_id},{unit_id},{region_id},{period}]"


def joint_boost(operation_id: str, unit_id: str, period: str) -> str:
    """A unit's shifts are boosted by an operation only when it is launched."""
    return f"joint_boost[{operation_id},{unit_id},{period}]"


def joint_all(operation_id: str, unit_id: str, period: str) -> str:
    """Once an operation is launched, every shift of a unit in its regions is boosted."""
    return f"joint_all[{operation_id},{unit_id},{period}]"


def family(name: str) -> str:
    """The family of a constraint name (the part before ``[``)."""
    return name.split("[", 1)[0]
