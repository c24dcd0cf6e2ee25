"""A plan request's forecast rows are kept as the forecast table, not one object per row,
from the moment they are parsed to the moment the plan is stored."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.testclient import TestClient

from crossplan.pipelines.plan_request import PlanRequest
from crossplan.serving.routing import CompactBodyRoute


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "region_id": f"r{i:05d}",
            "category": "smuggling",
            "period": "2026-01-01",
            "activity_mean": 2.5 + i % 7,
            "activity_q10": 1.0,
            "activity_q50": 2.0,
            "activity_q90": 9.0,
            "detection_rate": 0.2,
        }
        for i in range(n)
    ]


def _kept(route_class: type[APIRoute], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status, what the route's request keeps as its parsed body, and the bytes held
    while the endpoint runs (traced), of one ``POST /plan``."""
    app = FastAPI()
    app.router.route_class = route_class
    seen: dict[str, Any] = {}

    @app.post("/plan")
    async def plan(request: Request, plan: PlanRequest) -> dict[str, Any]:
        seen["forecast"] = type((await request.json())["forecast"]).__name__
        seen["rows"] = len(plan.forecast) if plan.forecast is not None else 0
        seen["held"] = tracemalloc.get_traced_memory()[0] - seen.pop("before")
        return {}

    content = json.dumps(body).encode()
    with TestClient(app) as client:
        tracemalloc.start()
        try:
            seen["before"] = tracemalloc.get_traced_memory()[0]
            status = client.post(
                "/plan", content=content, headers={"Content-Type": "application/json"}
            ).status_code
        finally:
            tracemalloc.stop()
    return status, seen


def test_forecast_rows_are_held_as_the_table_while_the_plan_runs() -> None:
    body = {"horizon": 1, "forecast": _rows(20_000)}
    status, compact = _kept(CompactBodyRoute, body)
    assert status == 200
    assert (compact["forecast"], compact["rows"]) == ("DataFrame", 20_000)
    status, plain = _kept(APIRoute, body)
    assert status == 200
    assert (plain["forecast"], plain["rows"]) == ("list", 20_000)
    # One object per row, held for the whole request, against the table.
    assert compact["held"] < plain["held"] / 2, (compact["held"], plain["held"])


def test_rows_the_table_check_refuses_are_left_for_validation_to_report() -> None:
    rows = _rows(3)
    rows[1]["activity_mean"] = "many"
    assert PlanRequest.compact_json({"forecast": rows})["forecast"] is rows
    assert PlanRequest.compact_json({"forecast": []}) == {"forecast": []}
    assert PlanRequest.compact_json([1, 2]) == [1, 2]
    # (The service answers them 400 with each row's place: test_hardening's bad bodies.)


def test_a_plan_stores_its_request_as_the_validated_request_in_json() -> None:
    for body in ({"horizon": 1, "solver": "highs", "forecast": _rows(50)}, {"horizon": 2}):
        request = PlanRequest.model_validate(PlanRequest.compact_json(body))
        stored = json.loads(request.stored_json())
        assert stored == request.model_dump(mode="json")
        assert list(stored) == list(PlanRequest.model_fields)
    assert stored["forecast"] is None
