"""The plan as JSON: its keys, plain types, effort per region for the closed loop.

The keys are those of docs/design.md, "Reference allocation model".
"""

from __future__ import annotations

import json

import pytest

from crossplan.optimize import plan_allocation
from crossplan.optimize.synthetic import random_inputs

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
    assert set(body["joint_operations"][0]) == {"operation_id", "period", "launched",
                                                "commitments", "status", "confirmed",
                                                "reason", "regions"}  # fmt: skip
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
