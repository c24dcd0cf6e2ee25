"""``crossplan plan`` and ``POST /plan`` are two doors over one planning use case: on the same
panel, model and request they make the same plan with the same provenance."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from crossplan.serving.cli import main


def test_the_command_and_the_endpoint_give_the_same_plan_and_provenance(
    shared: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, keys = shared
    r = client.post(
        "/plan",
        json={"horizon": 2, "time_limit_s": 30},
        headers={"Authorization": f"Bearer {keys['planner']}"},  # the operator's key
    )
    assert r.status_code == 200, r.text
    served = r.json()
    out = tmp_path / "plan.json"
    # The same database and MLflow store (the fixture's environment), the same request.
    code = main(["plan", "--database", "--horizon", "2", "--time-limit", "30", "--json", str(out),
                 "--quiet"])  # fmt: skip
    assert code == 0
    made = json.loads(out.read_text())
    assert made["input_fingerprint"] == served["input_fingerprint"]
    assert made["data"] == served["data"]
    assert made["data"]["as_of"] is not None
    assert made["assignments"] == served["assignments"]
    assert made["warnings"] == served["warnings"]


def test_both_doors_plan_the_same_horizon_by_default(
    shared: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, keys = shared
    r = client.post("/plan", json={}, headers={"Authorization": f"Bearer {keys['planner']}"})
    assert r.status_code == 200, r.text
    out = tmp_path / "plan.json"
    assert main(["plan", "--database", "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["periods"] == r.json()["periods"]
