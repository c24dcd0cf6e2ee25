"""How a stored plan reads to a key, and who is party to a plan.

A plan is made on its requester's view of the panel (:mod:`serving.sharing`). It *involves*
the requester's country, the countries whose units it gives shifts, and the parties of the
joint operations it launches (:func:`involved_countries`); no other country lists or reads it.
Its *decisions* — shifts and effort per region, assignments, joint operations launched — are
shared with the countries it involves, each within the regions both it and the requester
read region by region, and each seeing only its own country's units and the joint operations
it is party to. Its *figures* — expected activity and interdictions, marginal values, the
objective, the baselines, the diagnosis — and what identifies the requester's view of the
panel (its as-of time and fingerprints) are made from counts some of which only the
requester's agency may read: they are shown to that agency and to the operator, and are null
for everyone else. A unit or region a reader is not shown never appears in a constraint name
it reads (``capacity[ALB-BP-01,2026-03-02]``). The fixed effort a plan counted (others'
commitments) reads like its decisions: within those regions, and another country's reader
sees only its own country's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Set
from dataclasses import replace
from typing import Any

from crossplan.optimize.resources import Resources
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import PlanRecord
from crossplan.pipelines.views import region_level

__all__ = [
    "involved_countries",
    "plan_as_read",
    "plan_countries",
    "plan_read_by",
    "plan_units",
    "reads_plan",
    "sent_resources",
    "with_parties",
]

# Bracketed parts of a constraint name: ``capacity[GRC-BP-01,2026-03-02]``.
_NAME_PARTS = re.compile(r"\[([^\]]*)\]")
_FIGURES = ("expected_activity", "expected_interdictions", "marginal_value")
_PLAN_FIGURES = ("objective", "piecewise_objective", "upper_bound", "gap", "approximation_error")


def plan_countries(resources: Resources | None, requester_country: str | None) -> list[str]:
    """Every country resources name (units, joint operations) and the requester's: the most
    a plan on them can involve (:func:`involved_countries` says which it does)."""
    countries = {requester_country} if requester_country else set()
    if resources is not None:
        countries |= {u.country for u in resources.units}
        for operation in resources.joint_operations:
            countries |= set(operation.countries)
    return sorted(c for c in countries if c)


def involved_countries(
    response: Mapping[str, Any], units: Mapping[str, str], requester_country: str | None
) -> list[str]:
    """The countries a plan involves: the requester's, those whose units it gives shifts, and
    the parties of the joint operations it launches (or commits shifts to).

    Parameters
    ----------
    response
        The stored plan body.
    units
        Each unit of the plan and its country (:func:`plan_units`).
    requester_country
        ``None`` for the operator.
    """
    countries = {requester_country} if requester_country else set()
    for a in response.get("assignments", ()):
        if a["shifts"] > 0 and units.get(a["unit_id"]):
            countries.add(units[a["unit_id"]])
    for operation in response.get("joint_operations", ()):
        for state in operation.get("periods", ()):
            committed = state.get("commitments", {})
            if state.get("launched"):
                countries |= set(committed)
            countries |= {c for c, shifts in committed.items() if shifts > 0}
    return sorted(countries)


def sent_resources(request_json: str) -> dict[str, Any] | None:
    """The resources a stored plan's request sent (as JSON), or ``None``: the served ones."""
    sent: dict[str, Any] | None = json.loads(request_json).get("resources")
    return sent


def plan_units(request_json: str, served: Resources | None) -> dict[str, str]:
    """Each unit of a stored plan and its country: the request's resources, else the served
    data directory's."""
    sent = sent_resources(request_json)
    if sent is not None:
        return {u["unit_id"]: u["country"] for u in sent.get("units", ())}
    return {} if served is None else {u.unit_id: u.country for u in served.units}


def with_parties(record: PlanRecord, served: Resources | None) -> PlanRecord:
    """``record`` naming the countries its plan involves (:func:`involved_countries`), the
    units of ``served`` resources standing in for a request that sent none: what is stored."""
    units = plan_units(record.request, served)
    parties = involved_countries(record.response, units, record.country)
    return replace(record, countries=tuple(parties))


def reads_plan(country: str | None, record: PlanRecord, served: Resources | None) -> bool:
    """Whether a key of ``country`` (``None``: the operator) reads a stored plan.

    Its requester's country does; another country only when the plan involves it, as stored
    and as its body says (plans stored before involvement was read from the body name every
    country of their resources, so the body decides).
    """
    if country is None or country == record.country:
        return True
    if country not in record.countries:
        return False
    units = plan_units(record.request, served)
    return country in involved_countries(record.response, units, record.country)


def plan_read_by(
    record: PlanRecord,
    *,
    country: str | None,
    figures: bool,
    shown: Set[str] | None,
    dataset: Dataset,
) -> dict[str, Any]:
    """A stored plan as a reader of ``country`` reads it (see :func:`reads_plan` first):
    :func:`plan_as_read` within the regions both the reader (``shown``; ``None``: all) and
    the requester read region by region."""
    theirs = (
        None
        if record.country is None
        else region_level(dataset.regions, dataset.resources, record.country)
    )
    both: Set[str] | None = theirs
    if shown is not None:
        both = shown if theirs is None else shown & theirs
    return plan_as_read(
        record.response,
        shown=both,
        country=country,
        figures=figures,
        units=plan_units(record.request, dataset.resources),
        regions=set(dataset.regions["region_id"]),
    )


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
        operations = [
            o for o in operations if any(country in p["commitments"] for p in o["periods"])
        ]
    # Effort others committed: the requester reads what its plan counted, another reader
    # its own country's.
    fixed = [
        f
        for f in response.get("fixed_effort", ())
        if (shown is None or f["region_id"] in shown)
        and (country is None or figures or f["country"] == country)
    ]
    out = {
        **response,
        "regions": rows,
        "assignments": assignments,
        "joint_operations": operations,
        "fixed_effort": fixed,
        "binding_constraints": [n for n in response.get("binding_constraints", ()) if visible(n)],
    }
    if not figures:
        out["regions"] = [{**r, **dict.fromkeys(_FIGURES)} for r in rows]
        out |= dict.fromkeys(_PLAN_FIGURES)
        out["baselines"] = dict.fromkeys(response.get("baselines", {}))
        out["diagnosis"] = None
        # They identify the requester's view: they would say when it changed.
        out["input_fingerprint"] = None
        if isinstance(response.get("data"), dict):
            out["data"] = {**response["data"], "as_of": None, "fingerprint": None}
    return out
