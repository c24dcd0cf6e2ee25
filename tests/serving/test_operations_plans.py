"""What a joint operation's parties agreed binds their plans, and only theirs.

MKD (A) proposes an operation in the regions its agreement with GRC (B) opens to both; B asks
what pledging is worth to it; both pledge and it is confirmed. A's and B's next plans then
launch it, reserve exactly the shifts each pledged, and count the other's pledge as effort
there; ALB (C) sees nothing of it, in its plan or anywhere. An operation B declined is never
launched. The world's history ends last week, so the plans cover the operation's weeks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.simulate import last_full_week
from tests.serving.test_operations_story import (
    A,
    B,
    _ok,
    _proposal,
    _weeks,
    bearer,
    three_countries,
)

REGIONS = ("r002", "r006")


@pytest.fixture(scope="module")
def world(
    asgi_app: Any,
    stand_in_forecast: Callable[..., pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    end = last_full_week(date.today())
    with three_countries(asgi_app, stand_in_forecast, tmp_path_factory, end=end) as served:
        yield served


def _plan(client: TestClient, token: str) -> dict[str, Any]:
    return _ok(client.post("/plan", json={"horizon": 4}, headers=bearer(token)))


def _outcomes(plan: dict[str, Any], op: str) -> dict[str, dict[str, Any]]:
    return {
        s["period"]: s
        for o in plan["joint_operations"]
        if o["operation_id"] == op
        for s in o["periods"]
    }


def _inside(plan: dict[str, Any], unit_id: str, week: str) -> int:
    return sum(
        a["shifts"]
        for a in plan["assignments"]
        if (a["unit_id"], a["period"]) == (unit_id, week) and a["region_id"] in REGIONS
    )


def _fixed(plan: dict[str, Any], country: str, week: str) -> int:
    rows = plan["fixed_effort"]
    return sum(r["shifts"] for r in rows if (r["country"], r["period"]) == (country, week))


def test_what_pledging_is_worth_is_told_to_the_asking_party_only(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    proposed = _ok(client.post("/operations", json=_proposal(),
                               headers=bearer(tokens["mkd-planner"])), 201)  # fmt: skip
    op = proposed["operation_id"]
    value = _ok(client.get(f"/operations/{op}/value", headers=bearer(tokens["grc-analyst"])))
    assert (value["operation_id"], value["country"], value["periods"]) == (op, B, _weeks())
    assert value["need"] == dict.fromkeys(_weeks(), 4)
    assert value["gain"] == pytest.approx(value["with_pledge"] - value["without_pledge"])
    assert value["advice"] in ("pledge", "decline") and value["reason"]
    # the suggested pledge is B's border police's own units, up to the need
    suggested = value["suggested_pledge"]
    assert {s["unit_id"] for s in suggested} <= {"GRC-BP-01"}
    for week in _weeks():
        assert sum(s["shifts"].get(week, 0) for s in suggested) <= 4
    # C is told nothing; the operator has no pledge to weigh
    r = client.get(f"/operations/{op}/value", headers=bearer(tokens["alb-planner"]))
    assert r.status_code == 404
    r = client.get(f"/operations/{op}/value", headers=bearer(tokens["admin"]))
    assert r.status_code == 400 and "no pledge to weigh" in r.text
    _ok(client.post(f"/operations/{op}/withdraw", json={"reason": "asked only"},
                    headers=bearer(tokens["mkd-planner"])))  # fmt: skip
    r = client.get(f"/operations/{op}/value", headers=bearer(tokens["grc-planner"]))
    assert r.status_code == 409 and f"{op} is withdrawn" in r.json()["error"]


def test_a_confirmed_operation_binds_its_parties_plans_and_no_one_else_s(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    weeks = _weeks()
    # Ids of their own: a generated JO-n may repeat a resources candidate's id (JO-1 is
    # ALB and GRC's), which C's plan holds.
    proposed = _ok(client.post("/operations", json=_proposal(operation_id="MKD-GRC-bind"),
                               headers=bearer(tokens["mkd-planner"])), 201)  # fmt: skip
    op = proposed["operation_id"]
    declined = _ok(client.post("/operations", json=_proposal(operation_id="MKD-GRC-declined"),
                               headers=bearer(tokens["mkd-planner"])), 201)["operation_id"]  # fmt: skip
    _ok(client.post(f"/operations/{declined}/decline", json={"reason": "elsewhere"},
                    headers=bearer(tokens["grc-planner"])))  # fmt: skip
    mine = {"units": [{"unit_id": "MKD-BP-01", "shifts": 4}]}
    _ok(client.post(f"/operations/{op}/pledges", json=mine, headers=bearer(tokens["mkd-planner"])))
    theirs = {"units": [{"unit_id": "GRC-BP-01", "shifts": {weeks[0]: 4, weeks[1]: 5}}]}
    confirmed = _ok(client.post(f"/operations/{op}/pledges", json=theirs,
                                headers=bearer(tokens["grc-planner"])))  # fmt: skip
    assert confirmed["status"] == "confirmed"

    pledged = {A: ("MKD-BP-01", {weeks[0]: 4, weeks[1]: 4}),
               B: ("GRC-BP-01", {weeks[0]: 4, weeks[1]: 5})}  # fmt: skip
    for country, other in ((A, B), (B, A)):
        plan = _plan(client, tokens[f"{country.lower()}-planner"])
        unit_id, shifts = pledged[country]
        outcomes = _outcomes(plan, op)
        for week, outcome in outcomes.items():
            if week not in weeks:  # the plan's other periods
                assert not outcome["launched"] and not outcome["confirmed"]
                assert outcome["reason"] == f"its parties agreed it for {', '.join(weeks)} only"
        for week in weeks:
            assert outcomes[week]["launched"] and outcomes[week]["confirmed"]
            assert outcomes[week]["reason"] is None
            # exactly the pledge is reserved; the plan keeps it inside the regions
            (row,) = [
                c for c in plan["confirmed"] if (c["operation_id"], c["period"]) == (op, week)
            ]
            assert row["reserved"] == {unit_id: shifts[week]}
            assert _inside(plan, unit_id, week) >= shifts[week]
            # the other party's pledge is effort already there, and counts for it
            assert _fixed(plan, other, week) == pledged[other][1][week]
            assert outcomes[week]["commitments"][other] == pledged[other][1][week]
        # the declined operation is launched in no plan
        assert not any(o["launched"] for o in _outcomes(plan, declined).values())
    # C's plan knows nothing of it
    theirs_plan = _plan(client, tokens["alb-planner"])
    assert not _outcomes(theirs_plan, op) and not _outcomes(theirs_plan, declined)
    assert theirs_plan["confirmed"] == [] and theirs_plan["fixed_effort"] == []
    assert op not in str(theirs_plan)
