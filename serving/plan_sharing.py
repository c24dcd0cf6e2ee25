"""How a stored plan reads to a key of another agency, and who is party to a plan.

A plan is made on its requester's view of the panel (:mod:`serving.sharing`) and knows
nothing of the regions that view does not read region by region. A reader is shown the
rows, assignments and constraint names of the regions both it and the requester read region
by region, and the joint operations it is party to: a unit or region of another country
never appears in a constraint name it reads (``capacity[ALB-BP-01,2026-03-02]``).
"""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Any

from optimize.resources import Resources

__all__ = ["plan_as_read", "plan_countries"]

# Bracketed parts of a constraint name: ``capacity[GRC-BP-01,2026-03-02]``.
_NAME_PARTS = re.compile(r"\[([^\]]*)\]")


def plan_countries(resources: Resources | None, requester_country: str | None) -> list[str]:
    """Every country a plan involves: the requester's, its units' and joint operations'."""
    countries = {requester_country} if requester_country else set()
    if resources is not None:
        countries |= {u.country for u in resources.units}
        for operation in resources.joint_operations:
            countries |= set(operation.countries)
    return sorted(c for c in countries if c)


def plan_as_read(
    response: dict[str, Any],
    shown: Set[str] | None,
    operations_of: str | None,
    regions: Set[str],
) -> dict[str, Any]:
    """A plan body with only what a reader reads.

    Parameters
    ----------
    response
        The stored plan body.
    shown
        Regions the reader reads in this plan; ``None``: all (the operator on its own plan).
    operations_of
        Keep only the joint operations this country commits to; ``None``: all.
    regions
        Every region id of the panel (to tell region ids in constraint names).
    """
    if shown is None:
        return response
    assignments = [a for a in response.get("assignments", ()) if a["region_id"] in shown]
    units = {a["unit_id"] for a in response.get("assignments", ())}
    visible_units = {a["unit_id"] for a in assignments}

    def visible(name: str) -> bool:
        for part in _NAME_PARTS.findall(name):
            for token in (t.strip() for t in part.split(",")):
                if (token in regions and token not in shown) or (
                    token in units and token not in visible_units
                ):
                    return False
        return True

    operations = list(response.get("joint_operations", ()))
    if operations_of is not None:
        operations = [o for o in operations if operations_of in o["commitments"]]
    diagnosis = response.get("diagnosis")
    if diagnosis:
        diagnosis = [f for f in diagnosis if visible(f"[{_flat(f)}]")]
    return {
        **response,
        "regions": [r for r in response.get("regions", ()) if r["region_id"] in shown],
        "assignments": assignments,
        "joint_operations": operations,
        "binding_constraints": [n for n in response.get("binding_constraints", ()) if visible(n)],
        "diagnosis": diagnosis,
    }


def _flat(value: Any) -> str:
    """Every string of a nested finding, comma-separated (to look for names in it)."""
    if isinstance(value, dict):
        return ",".join(_flat(v) for v in value.values())
    if isinstance(value, list | tuple):
        return ",".join(_flat(v) for v in value)
    return str(value)
