"""How a stored plan reads to a key, and who is party to a plan.

A plan is made on its requester's view of the panel (:mod:`serving.sharing`). Its *decisions*
— shifts and effort per region, assignments, joint operations launched — are shared with the
countries it involves, each within the regions both it and the requester read region by
region, and each seeing only its own country's units and the joint operations it is party to.
Its *figures* — expected activity and interdictions, marginal values, the objective, the
baselines, the diagnosis — are made from counts, some of which only the requester's agency
may read: they are shown to that agency and to the operator, and are null for everyone else.
A unit or region a reader is not shown never appears in a constraint name it reads
(``capacity[ALB-BP-01,2026-03-02]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Set
from typing import Any

from optimize.resources import Resources

__all__ = ["plan_as_read", "plan_countries", "plan_units"]

# Bracketed parts of a constraint name: ``capacity[GRC-BP-01,2026-03-02]``.
_NAME_PARTS = re.compile(r"\[([^\]]*)\]")
_FIGURES = ("expected_activity", "expected_interdictions", "marginal_value")
_PLAN_FIGURES = ("objective", "piecewise_objective", "upper_bound", "gap", "approximation_error")


def plan_countries(resources: Resources | None, requester_country: str | None) -> list[str]:
    """Every country a plan involves: the requester's, its units' and joint operations'."""
    countries = {requester_country} if requester_country else set()
    if resources is not None:
        countries |= {u.country for u in resources.units}
        for operation in resources.joint_operations:
            countries |= set(operation.countries)
    return sorted(c for c in countries if c)


def plan_units(request_json: str, served: Resources | None) -> dict[str, str]:
    """Each unit of a stored plan and its country: the request's resources, else the served
    data directory's."""
    sent = json.loads(request_json).get("resources")
    if sent is not None:
        return {u["unit_id"]: u["country"] for u in sent.get("units", ())}
    return {} if served is None else {u.unit_id: u.country for u in served.units}


def plan_as_read(
    response: dict[str, Any],
    *,
    shown: Set[str] | None,
    country: str | None,
    figures: bool,
    units: dict[str, str],
    regions: Set[str],
) -> dict[str, Any]:
    """A plan body with only what a reader reads.

    Parameters
    ----------
    response
        The stored plan body.
    shown
        Regions the reader reads in this plan; ``None``: all (the operator on its own plan).
    country
        The reader's country: its units and the joint operations it is party to are shown;
        ``None`` (the operator): all.
    figures
        Whether the reader may read the plan's figures (the requester's agency, the operator).
    units
        Each unit of the plan and its country (:func:`plan_units`).
    regions
        Every region id of the panel (to tell region ids in constraint names).
    """
    if shown is None and country is None and figures:
        return response
    rows = [r for r in response.get("regions", ()) if shown is None or r["region_id"] in shown]
    assignments = [
        a
        for a in response.get("assignments", ())
        if (shown is None or a["region_id"] in shown)
        and (country is None or units.get(a["unit_id"]) == country)
    ]
    visible_units = {a["unit_id"] for a in assignments}
    if country is None:
        visible_units |= set(units)

    def visible(name: str) -> bool:
        for part in _NAME_PARTS.findall(name):
            for token in (t.strip() for t in part.split(",")):
                if shown is not None and token in regions and token not in shown:
                    return False
                if token in units and token not in visible_units:
                    return False
        return True

    operations = list(response.get("joint_operations", ()))
    if country is not None:
        operations = [o for o in operations if country in o["commitments"]]
    out = {
        **response,
        "regions": rows,
        "assignments": assignments,
        "joint_operations": operations,
        "binding_constraints": [n for n in response.get("binding_constraints", ()) if visible(n)],
    }
    if not figures:
        out["regions"] = [{**r, **dict.fromkeys(_FIGURES)} for r in rows]
        out |= dict.fromkeys(_PLAN_FIGURES)
        out["baselines"] = dict.fromkeys(response.get("baselines", {}))
        out["diagnosis"] = None
    return out
