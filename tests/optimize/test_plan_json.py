"""The plan as JSON: its keys, plain types, effort per region for the closed loop.

The keys are those of docs/design.md, "Reference allocation model".
"""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter

from crossplan.optimize import Plan, plan_allocation
from crossplan.optimize.synthetic import random_inputs

PLAN = TypeAdapter(Plan)

DESIGN_KEYS = {
    "status", "objective", "gap", "solver", "solve_seconds", "periods", "assignments",
    "regions", "joint_operations", "baselines", "binding_constraints", "diagnosis",
    "binding", "command", "fixed_effort", "confirmed",
}  # fmt: skip


@pytest.fixture(scope="module")
def plan():
    return plan_allocation(random_inputs(20, 8, 2, n_countries=2, seed=3))


def test_to_dict_has_design_keys_and_survives_json(plan) -> None:
    body = plan.to_dict()
    assert set(body) >= DESIGN_KEYS
    assert json.loads(json.dumps(body)) == body
    assert set(body["assignments"][0]) == {"unit_id", "period", "region_id", "shifts",
                                           "region_name"}  # fmt: skip
    assert {"region_id", "period", "effort", "expected_activity", "expected_interdictions",
            "marginal_value"} <= set(body["regions"][0])  # fmt: skip
    assert set(body["joint_operations"][0]) == {"operation_id", "regions", "periods"}
    assert set(body["joint_operations"][0]["periods"][0]) == {"period", "launched",
                                                              "commitments", "status",
                                                              "confirmed", "reason"}  # fmt: skip
    assert body["command"] == {"country": None, "agency": None, "scope": "agency"}
    assert body["binding"] is False and body["fixed_effort"] == [] == body["confirmed"]
    assert set(body["baselines"]) == {"uniform", "proportional"}
    assert body["solver"] == "cbc" and body["status"] == "optimal"
    assert 0 < body["approximation_error"] < 0.01
    assert body["periods"] == ["2026-03-02", "2026-03-09"]


def test_regions_cover_every_region_and_period(plan) -> None:
    assert len(plan.regions) == 20 * 2
    total = sum(o.expected_interdictions for o in plan.regions)
    assert total == pytest.approx(plan.objective)


def test_effort_by_region_for_one_period(plan) -> None:
    first = plan.effort_by_region()
    assert first == plan.effort_by_region("2026-03-02")
    assert len(first) == 20 and sum(first.values()) > 0
    second = plan.effort_by_region("2026-03-09T00:00:00")
    assert second == {o.region_id: o.effort for o in plan.regions if o.period == "2026-03-09"}
    shifts = plan.shifts_by_region()
    assert sum(shifts.values()) == sum(a.shifts for a in plan.assignments
                                       if a.period == "2026-03-02")  # fmt: skip
    with pytest.raises(KeyError, match="not planned"):
        plan.effort_by_region("2030-01-07")


def test_names_go_beside_the_ids_and_operations_list_their_regions(plan) -> None:
    names = {o.region_id: f"name of {o.region_id}" for o in plan.regions}
    operations = {o.operation_id: ("r000", "r001") for o in plan.joint_operations}
    named = plan.with_names(names, operations).to_dict()
    assert all(r["region_name"] == f"name of {r['region_id']}" for r in named["regions"])
    assert all(a["region_name"] == names[a["region_id"]] for a in named["assignments"])
    assert all(o["regions"] == ["r000", "r001"] for o in named["joint_operations"])
    # nothing else moves
    bare = plan.to_dict()
    assert [{**r, "region_name": None} for r in named["regions"]] == bare["regions"]
    assert named["objective"] == bare["objective"]
    # a region the regions file does not name keeps a null name
    assert plan.with_names({}, {}).to_dict()["regions"][0]["region_name"] is None


def test_joint_operations_are_one_entry_per_operation_with_its_periods(plan) -> None:
    body = plan.to_dict()
    ids = [o["operation_id"] for o in body["joint_operations"]]
    assert len(ids) == len(set(ids)) > 0
    assert all([s["period"] for s in o["periods"]] == body["periods"]
               for o in body["joint_operations"])  # fmt: skip
    rows = list(plan.operation_periods())  # the per-period rows, by operation then period
    assert [(o.operation_id, s.period) for o, s in rows] == [
        (i, p) for i in ids for p in body["periods"]
    ]
    launched = {o.operation_id for o, s in rows if s.launched}
    assert {o.operation_id for o in plan.joint_operations if o.launched} == launched


def _old_rows(body: dict) -> list[dict]:
    """The plan's joint operations as plans stored before grouping gave them: one row per
    operation and period, periods first."""
    rows = [
        {"operation_id": o["operation_id"], **s, "regions": o["regions"]}
        for o in body["joint_operations"]
        for s in o["periods"]
    ]
    return sorted(rows, key=lambda r: (r["period"], r["operation_id"]))


def test_a_plan_stored_with_one_row_per_operation_and_period_loads_grouped(plan) -> None:
    body = plan.with_names({}, {o.operation_id: ("r000",) for o in plan.joint_operations})
    body = body.to_dict()
    old = {**body, "joint_operations": _old_rows(body)}
    assert PLAN.validate_python(old).to_dict() == body
    # the earliest rows: no status, confirmed or regions
    earliest = [{k: r[k] for k in ("operation_id", "period", "launched", "commitments")}
                for r in _old_rows(body)]  # fmt: skip
    loaded = PLAN.validate_python({**body, "joint_operations": earliest})
    assert [(o.operation_id, s.period, s.launched, s.status == "launched", o.regions)
            for o, s in loaded.operation_periods()] == [
        (o["operation_id"], s["period"], s["launched"], s["launched"], ())
        for o in body["joint_operations"] for s in o["periods"]
    ]  # fmt: skip
