"""``risk_quantile`` in a plan request: plan on another quantile without resending the
resources (an agency's key reads only its own units, so it could not resend them all)."""

from __future__ import annotations

from starlette.testclient import TestClient


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _activity(client: TestClient, token: str, **body: object) -> float:
    r = client.post("/plan", json={"horizon": 1, **body}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return sum(row["expected_activity"] for row in r.json()["regions"])


def test_a_plan_on_the_high_quantile_expects_more(
    shared: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = shared
    low = _activity(client, keys["planner"], risk_quantile=0.1)
    middle = _activity(client, keys["planner"], risk_quantile=0.5)
    high = _activity(client, keys["planner"], risk_quantile=0.9)
    assert low < middle < high
    # the policy's quantile is the default (0.5 in the tiny world's resources)
    assert _activity(client, keys["planner"]) == middle


def test_a_quantile_out_of_range_is_a_located_400(
    shared: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = shared
    r = client.post("/plan", json={"horizon": 1, "risk_quantile": 0.95},
                    headers=bearer(keys["planner"]))  # fmt: skip
    assert r.status_code == 400
    assert r.json()["problems"][0]["field"] == "risk_quantile"
