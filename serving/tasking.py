"""Per-unit taskings of a plan: who goes where, when, and in which joint operation.

A tasking is read from a plan body *as its reader reads it*: the HTTP doors hand
:func:`tasking_rows` what :meth:`serving.sharing.SharingPolicy.plan` gives the key, the
command line what it gives the operator, so a tasking never holds more than the plan it is
read from (its units, regions and joint operations). What the body does not say of itself —
each unit's agency and country, the regions' names, the regions of joint operations in plans
stored before the plan listed them — comes from the plan's resources (:class:`PlanContext`):
the request's own, else the served ones, as :func:`serving.plan_sharing.plan_units` reads them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from typing import Any

from crossplan.pipelines.contract import Dataset
from crossplan.serving.plan_sharing import sent_resources

__all__ = [
    "TASKING_COLUMNS",
    "PlanContext",
    "TaskingRow",
    "tasking_csv",
    "tasking_filename",
    "tasking_rows",
]


@dataclass(frozen=True)
class TaskingRow:
    """Shifts of one unit in one region and period, with what a unit's crew needs to know."""

    unit_id: str
    agency: str
    country: str
    period: str
    region_id: str
    region_name: str
    shifts: int
    joint_operation: str
    """The launched joint operations whose regions hold this region in this period
    (``;``-separated), else empty."""


TASKING_COLUMNS = tuple(f.name for f in fields(TaskingRow))


@dataclass(frozen=True)
class PlanContext:
    """What a plan body does not say of itself.

    Attributes
    ----------
    units
        Each unit id: its agency and its country.
    region_names
        Each region id: its name.
    operation_regions
        Each joint operation id: its regions (for plans whose operations do not list them).
    """

    units: Mapping[str, tuple[str, str]]
    region_names: Mapping[str, str]
    operation_regions: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, request_json: str | None, dataset: Dataset) -> PlanContext:
        """The context of a plan made on ``request_json`` (``None``: the dataset's
        resources) and served with ``dataset``."""
        sent = None if request_json is None else sent_resources(request_json)
        if sent is not None:
            units = {u["unit_id"]: (u.get("agency", ""), u["country"]) for u in sent["units"]}
            operations = {
                j["operation_id"]: tuple(j["regions"]) for j in sent.get("joint_operations", ())
            }
        elif dataset.resources is not None:
            units = {u.unit_id: (u.agency, u.country) for u in dataset.resources.units}
            operations = {j.operation_id: j.regions for j in dataset.resources.joint_operations}
        else:
            units, operations = {}, {}
        return cls(units, dataset.region_names, operations)


def tasking_rows(plan: Mapping[str, Any], context: PlanContext) -> list[TaskingRow]:
    """Every assignment of ``plan`` with shifts, as a row of its unit's tasking, by unit,
    then period, then region."""
    launched: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for o in plan.get("joint_operations", ()):
        regions = o.get("regions") or context.operation_regions.get(o["operation_id"], ())
        for state in o.get("periods", ()):
            if state.get("launched"):
                launched.setdefault(state["period"], []).append(
                    (o["operation_id"], frozenset(regions))
                )
    rows = []
    for a in plan.get("assignments", ()):
        if a["shifts"] <= 0:
            continue
        agency, country = context.units.get(a["unit_id"], ("", ""))
        region = a["region_id"]
        joint = sorted(op for op, regions in launched.get(a["period"], ()) if region in regions)
        rows.append(
            TaskingRow(
                unit_id=a["unit_id"],
                agency=agency,
                country=country,
                period=a["period"],
                region_id=region,
                region_name=a.get("region_name") or context.region_names.get(region, ""),
                shifts=int(a["shifts"]),
                joint_operation=";".join(joint),
            )
        )
    return sorted(rows, key=lambda r: (r.unit_id, r.period, r.region_id))


def tasking_csv(rows: Iterable[TaskingRow]) -> str:
    """The rows as CSV, with a header of :data:`TASKING_COLUMNS`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TASKING_COLUMNS)
    writer.writerows(astuple(r) for r in rows)
    return out.getvalue()


def tasking_filename(plan_id: str | None, suffix: str) -> str:
    """``tasking-<first 8 of the plan id>.<suffix>``: what a download is saved as."""
    short = "".join(c for c in (plan_id or "plan")[:8] if c.isalnum() or c in "-_")
    return f"tasking-{short or 'plan'}.{suffix}"
