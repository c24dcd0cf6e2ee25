"""Who is party to a stored plan: the countries it gives work, not every country its
resources name (:mod:`serving.plan_sharing`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crossplan.pipelines.database import PlanRecord
from crossplan.serving.plan_sharing import involved_countries, reads_plan

UNITS = {"GRC-BP-01": "GRC", "MKD-BP-01": "MKD", "ALB-BP-01": "ALB"}


def _plan(
    shifts: dict[str, int], operations: tuple[tuple[bool, dict[str, int]], ...] = ()
) -> dict[str, Any]:
    return {
        "assignments": [{"unit_id": u, "period": "2026-03-02", "region_id": "r1", "shifts": n}
                        for u, n in shifts.items()],
        "joint_operations": [{"operation_id": f"JO-{k}", "regions": ["r1"], "periods": [
                                 {"period": "2026-03-02", "launched": launched,
                                  "commitments": committed}]}
                             for k, (launched, committed) in enumerate(operations)],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("plan", "requester", "expected"),
    [
        # the requester's country, however little its plan does
        (_plan({}), "ALB", ["ALB"]),
        # a unit with shifts involves its country; one with none does not
        (_plan({"ALB-BP-01": 5, "MKD-BP-01": 0}), "ALB", ["ALB"]),
        (_plan({"ALB-BP-01": 5, "GRC-BP-01": 2}), "ALB", ["ALB", "GRC"]),
        # a launched joint operation involves every party, even one committing nothing yet
        (_plan({}, ((True, {"ALB": 4, "GRC": 0}),)), "ALB", ["ALB", "GRC"]),
        # one not launched involves no one by itself
        (_plan({}, ((False, {"GRC": 0, "MKD": 0}),)), "ALB", ["ALB"]),
        # the operator's plan: only the countries it gives work
        (_plan({"MKD-BP-01": 1}), None, ["MKD"]),
        # a unit the plan does not know (resources changed since) involves no one
        (_plan({"XXX-BP-09": 3}), "ALB", ["ALB"]),
    ],
)
def test_who_a_plan_involves(
    plan: dict[str, Any], requester: str | None, expected: list[str]
) -> None:
    assert involved_countries(plan, UNITS, requester) == expected


def _record(country: str | None, countries: tuple[str, ...], body: dict[str, Any]) -> PlanRecord:
    units = [{"unit_id": u, "country": c} for u, c in UNITS.items()]
    return PlanRecord(
        plan_id="p", created_at="", requester="x", model_name=None, model_version=None,
        input_fingerprint="f" * 64, status="optimal", objective=None, solver="cbc",
        solve_seconds=None, total_seconds=0.0, response=body, country=country,
        request=json.dumps({"horizon": 1, "resources": {"units": units}}), countries=countries,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("reader", "record", "reads"),
    [
        # the operator reads every plan
        (None, _record("ALB", ("ALB",), _plan({})), True),
        # the requester's country reads its plan
        ("ALB", _record("ALB", ("ALB",), _plan({})), True),
        # a country the plan gives work reads it
        ("GRC", _record("ALB", ("ALB", "GRC"), _plan({"GRC-BP-01": 1})), True),
        # stored before involvement was read from the body: every country named, the body
        # gives MKD nothing, so MKD does not read it
        ("MKD", _record("ALB", ("ALB", "GRC", "MKD"), _plan({"GRC-BP-01": 1})), False),
        # a country the stored record does not name does not read it
        ("MKD", _record("ALB", ("ALB",), _plan({"MKD-BP-01": 1})), False),
    ],
)
def test_who_reads_a_stored_plan(reader: str | None, record: PlanRecord, reads: bool) -> None:
    assert reads_plan(reader, record, None) is reads
