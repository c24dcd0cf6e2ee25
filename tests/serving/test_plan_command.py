"""``POST /plan`` assigns only the units the key commands: its agency's, every unit of its
country for a national coordination centre's key (scope ``national``), or every unit for the
operator's key — whose plan is a central proposal that binds no agency.

The tiny world: GRC (Border Police, Coast Guard, National Police) and MKD (the same), with
JO-1 between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, Scope, add_key
from tests.serving.conftest import _point_service_at, _sqlite

KEYS = {
    "grc-bp": ("GRC", "Border Police", Scope.AGENCY),
    "grc-ncc": ("GRC", "National Coordination Centre", Scope.NATIONAL),
    "operator": (None, None, Scope.AGENCY),
}


@pytest.fixture(scope="module")
def service(
    asgi_app: Any,
    tiny_world_dir: Path,
    forecast_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    home = tmp_path_factory.mktemp("home")
    db = Database.connect(f"sqlite:///{home / 'crossplan.db'}")
    keys = KeyStore(db)
    tokens = {
        name: add_key(keys, name, Role.PLANNER, country=country, agency=agency, scope=scope)
        for name, (country, agency, scope) in KEYS.items()
    }
    db.dispose()
    env = {
        "CROSSPLAN_HOME": str(home),
        "CROSSPLAN_DATA": str(tiny_world_dir),
        "CROSSPLAN_FORECAST_FILE": str(forecast_file),
        "MLFLOW_TRACKING_URI": _sqlite(home),
    }
    with pytest.MonkeyPatch.context() as mp:
        _point_service_at(env, mp)
        with TestClient(asgi_app) as client:
            yield client, tokens


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _plan(client: TestClient, token: str, **body: Any) -> dict[str, Any]:
    r = client.post("/plan", json={"horizon": 2, **body}, headers=_bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _units(client: TestClient, token: str) -> dict[str, tuple[str, str]]:
    units = client.get("/resources", headers=_bearer(token)).json()["units"]
    return {u["unit_id"]: (u["country"], u["agency"]) for u in units}


def _planned(plan: dict[str, Any]) -> set[str]:
    return {a["unit_id"] for a in plan["assignments"] if a["shifts"] > 0}


@pytest.mark.parametrize(
    ("key", "commands", "binding"),
    [
        ("grc-bp", {"GRC-BP-01"}, True),  # an agency's planner: its agency's units
        ("grc-ncc", {"GRC-BP-01", "GRC-CG-01", "GRC-NP-01"}, True),  # national: GRC's units
        ("operator", None, False),  # every unit, binding no one
    ],
)
def test_a_key_plans_the_units_it_commands(
    service: Any, key: str, commands: set[str] | None, binding: bool
) -> None:
    client, tokens = service
    units = _units(client, tokens["operator"])
    plan = _plan(client, tokens[key])
    planned = _planned(plan)
    assert planned <= (set(units) if commands is None else commands)
    assert plan["binding"] is binding
    country, agency, scope = KEYS[key]
    assert plan["command"] == {"country": country, "agency": agency, "scope": scope.value}
    assert any(w.startswith("a central proposal") for w in plan["warnings"]) is not binding
    if commands is None:
        assert {units[u][0] for u in planned} == {"GRC", "MKD"}
    else:
        assert planned == commands
    # stored as made: read back, it says whose plan it is
    stored = client.get(f"/plans/{plan['plan_id']}", headers=_bearer(tokens[key])).json()
    assert (stored["binding"], stored["command"]) == (binding, plan["command"])


def test_a_joint_operation_nobody_agreed_is_not_launched_and_says_how_to_agree(
    service: Any,
) -> None:
    client, tokens = service
    plan = _plan(client, tokens["grc-ncc"])
    assert plan["joint_operations"]
    for outcome in (s for o in plan["joint_operations"] for s in o["periods"]):
        assert outcome["status"] == "not launched" and not outcome["confirmed"]
        assert outcome["reason"] == (
            f"not confirmed for {outcome['period']}: a joint operation launches once every "
            "party has pledged its need — fix: propose it (crossplan operations propose, POST "
            "/operations) or answer its proposal"
        )
        assert outcome["commitments"]["MKD"] == 0


def test_units_sent_in_the_request_are_still_not_the_key_s_to_command(service: Any) -> None:
    client, tokens = service
    resources = client.get("/resources", headers=_bearer(tokens["operator"])).json()
    resources["units"] = [u for u in resources["units"] if u["country"] == "MKD"]
    plan = _plan(client, tokens["grc-bp"], resources=resources)
    assert plan["assignments"] == []
    assert "GRC Border Police commands no unit of the resources" in " ".join(plan["warnings"])


def test_me_says_which_units_a_key_s_plans_command(service: Any) -> None:
    client, tokens = service
    scopes = {
        key: client.get("/me", headers=_bearer(token)).json()["scope"]
        for key, token in tokens.items()
    }
    assert scopes == {"grc-bp": "agency", "grc-ncc": "national", "operator": None}
