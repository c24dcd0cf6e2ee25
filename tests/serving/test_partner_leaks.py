"""What a hostile partner could still learn, closed: the world of
:mod:`tests.serving.test_sharing_policy` (A = MKD; B = GRC, a partner through the agreement
covering r002 and r006; C = ALB, not a partner), asked as A would ask.

* a plan is read only by the countries it involves (its requester's, those whose units it
  gives shifts — only the operator's plan gives other countries' units shifts —, the parties
  of the joint operations it launches);
* what an answer says of its data (as-of time, fingerprints) is that of A's view: a change A
  may not read moves none of it;
* a hidden cell names no agency;
* where things are stored is the operator's;
* an admin of a country reads that country's audit trail.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, add_key
from tests.serving import test_sharing_policy as policy
from tests.serving.conftest import _point_service_at, _sqlite
from tests.serving.test_sharing_policy import A, B, C, _cells, _correct, _row, bearer, regions_of

# The world and its champion (trained once for this module).
three, three_champion = policy.three, policy.three_champion
PLAN = {"horizon": 2, "time_limit_s": 30}


@pytest.fixture(scope="module")
def world(
    asgi_app: Any, three: Path, three_champion: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str], pd.DataFrame, Path]]:
    """The service on the three-country world: an analyst and planner of each country, a
    reporter of B and C, an admin of A, the operator's admin."""
    home = tmp_path_factory.mktemp("home")
    shutil.copy(three_champion / "mlflow.db", home / "mlflow.db")
    db = Database.connect(f"sqlite:///{home / 'crossplan.db'}")
    keys = KeyStore(db)
    tokens = {"admin": add_key(keys, "admin", Role.ADMIN)}
    for country in (A, B, C):
        for role in (Role.REPORTER, Role.ANALYST, Role.PLANNER, Role.ADMIN):
            name = f"{country.lower()}-{role.value}"
            tokens[name] = add_key(keys, name, role, country=country, agency="Border Police")
    db.dispose()
    env = {"CROSSPLAN_HOME": str(home), "CROSSPLAN_DATA": str(three),
           "MLFLOW_TRACKING_URI": _sqlite(home)}  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        _point_service_at(env, mp)
        with TestClient(asgi_app) as client:
            geo = client.get("/regions", headers=bearer(tokens["admin"])).json()
            table = pd.DataFrame([f["properties"] for f in geo["features"]])
            yield client, tokens, table, three


def _get(client: TestClient, token: str, path: str, **params: Any) -> Any:
    r = client.get(path, params=params, headers=bearer(token))
    assert r.status_code == 200, (path, r.text)
    return r.json()


@pytest.mark.parametrize(
    "idle",
    [
        False,  # the served resources as they are (here the plan sends A's units to r002)
        True,  # A's units with no shift to give: the plan names them and gives them nothing
    ],
)
def test_a_plan_is_read_only_by_the_countries_it_involves(world: Any, idle: bool) -> None:
    """The operator plans with resources that hold every country's units (an agency's plan
    assigns only its own): the plan gives shifts to some countries' units and launches some
    joint operations. Only those countries list and read it; a country given nothing to do
    does not even learn it exists."""
    client, tokens, _, _ = world
    resources = _get(client, tokens["admin"], "/resources")
    if idle:
        resources["units"] = [{**u, "shifts_per_period": 0} if u["country"] == A else u
                              for u in resources["units"]]  # fmt: skip
    body = {**PLAN, "resources": resources}
    made = client.post("/plan", json=body, headers=bearer(tokens["admin"]))
    assert made.status_code == 200, made.text
    plan_id = made.json()["plan_id"]
    whole = _get(client, tokens["admin"], f"/plans/{plan_id}")
    country_of = {u["unit_id"]: u["country"] for u in resources["units"]}
    involved = {country_of[a["unit_id"]] for a in whole["assignments"] if a["shifts"]}
    for operation in whole["joint_operations"]:
        for state in operation["periods"]:
            if state["launched"]:
                involved |= set(state["commitments"])
    assert (A in involved) is not idle
    for country in (A, B, C):
        analyst = bearer(tokens[f"{country.lower()}-analyst"])
        reads = {p["plan_id"] for p in _get(client, tokens[f"{country.lower()}-analyst"],
                                            "/plans")["plans"]}  # fmt: skip
        for path in (f"/plans/{plan_id}", f"/plans/{plan_id}/geojson"):
            status = client.get(path, headers=analyst).status_code
            assert status == (200 if country in involved else 404), (country, path)
        assert (plan_id in reads) is (country in involved), country


def _data_of(client: TestClient, tokens: dict[str, str], who: str) -> dict[str, Any]:
    """What ``who``'s keys are told of the data their answers are made from."""
    planner, analyst = tokens[f"{who}-planner"], tokens[f"{who}-analyst"]
    forecast = client.post("/forecast", json={"horizon": 2}, headers=bearer(planner))
    plan = client.post("/plan", json=PLAN, headers=bearer(planner))
    assert forecast.status_code == plan.status_code == 200, (forecast.text, plan.text)
    return {
        "forecast": forecast.json()["data"],
        "plan": (plan.json()["data"], plan.json()["input_fingerprint"]),
        "model": {k: _get(client, analyst, "/model")["data"][k] for k in ("as_of", "fingerprint")},
        "incidents": _get(client, analyst, "/incidents", start="2099-01-01")["as_of"],
    }


def test_what_an_answer_says_of_its_data_moves_only_with_what_the_key_reads(world: Any) -> None:
    """C corrects a count of its own region (A reads it only in C's country total) and B a
    small count in r002 (A reads r002, that count suppressed): A's forecasts, plans, model
    card and incidents say the same as-of time and fingerprints as before. The operator's
    move; and A's move once B corrects a count A reads."""
    client, tokens, table, world_dir = world
    before = _data_of(client, tokens, A.lower())
    operator = _get(client, tokens["admin"], "/model")["data"]

    c_cell = _cells(world_dir, sorted(regions_of(table, C))[0]).iloc[-1]
    _correct(client, tokens[f"{C.lower()}-reporter"],
             _row(c_cell, reported=int(c_cell["reported"]) + 1))  # fmt: skip
    b_cells = _cells(world_dir, "r002")
    one_part = (b_cells["reported"] == 0) | (b_cells["detected"] == 0)
    small = b_cells[b_cells["count"].isin([1, 2]) & one_part].iloc[-1]
    flipped = {n: (3 - int(small[n]) if small[n] else 0) for n in ("reported", "detected")}
    _correct(client, tokens[f"{B.lower()}-reporter"], _row(small, **flipped))

    assert _data_of(client, tokens, A.lower()) == before
    assert _get(client, tokens["admin"], "/model")["data"]["fingerprint"] != operator["fingerprint"]

    # B corrects a cell of r002 to counts A reads as sent: A's data move.
    _correct(client, tokens[f"{B.lower()}-reporter"],
             _row(b_cells.iloc[-3], reported=10, detected=10))  # fmt: skip
    after = _data_of(client, tokens, A.lower())
    assert after["forecast"]["as_of"] > before["forecast"]["as_of"]
    assert after["forecast"]["fingerprint"] != before["forecast"]["fingerprint"]
    assert after["plan"][1] != before["plan"][1]
    assert after["incidents"] == after["forecast"]["as_of"] == after["model"]["as_of"]


def test_a_plan_another_agency_made_does_not_say_when_its_view_changed(world: Any) -> None:
    """A partner reads a plan's decisions; the as-of time and fingerprints of the view it was
    made on are its requester's alone (they would date changes the partner may not read)."""
    client, tokens, _, _ = world
    made = client.post("/plan", json=PLAN, headers=bearer(tokens["admin"]))
    assert made.status_code == 200, made.text
    plan = _get(client, tokens[f"{A.lower()}-analyst"], f"/plans/{made.json()['plan_id']}")
    assert plan["input_fingerprint"] is None
    assert plan["data"]["as_of"] is None and plan["data"]["fingerprint"] is None
    own = _get(client, tokens["admin"], f"/plans/{made.json()['plan_id']}")
    assert own["input_fingerprint"] == made.json()["input_fingerprint"]


def test_a_hidden_cell_names_no_agency(world: Any) -> None:
    """A partner correcting a cell whose count A may not read would otherwise show, by its
    name appearing there, that it sent the cell again."""
    client, tokens, _, world_dir = world
    b_cells = _cells(world_dir, "r002")
    one_part = (b_cells["reported"] == 0) | (b_cells["detected"] == 0)
    small = b_cells[b_cells["count"].isin([1, 2]) & one_part].iloc[-2]
    flipped = {n: (3 - int(small[n]) if small[n] else 0) for n in ("reported", "detected")}
    _correct(client, tokens[f"{B.lower()}-reporter"], _row(small, **flipped))
    rows = _get(client, tokens[f"{A.lower()}-analyst"], "/incidents")["rows"]
    (cell,) = [r for r in rows if (r["region_id"], r["period"], r["category"])
               == ("r002", small["period"], small["category"])]  # fmt: skip
    assert cell["suppressed"] and cell["agency"] is None
    assert not [r for r in rows if r["suppressed"] and r["agency"] is not None]
    # B reads its own cell, and its name on it
    rows = _get(client, tokens[f"{B.lower()}-analyst"], "/incidents", region="r002")["rows"]
    (cell,) = [r for r in rows if (r["region_id"], r["period"], r["category"])
               == ("r002", small["period"], small["category"])]  # fmt: skip
    assert not cell["suppressed"] and cell["agency"] == "Border Police"


def test_where_things_are_stored_is_for_the_operators_admins(world: Any) -> None:
    client, tokens, _, _ = world
    for key in (f"{A.lower()}-analyst", f"{A.lower()}-planner", f"{A.lower()}-admin"):
        card = _get(client, tokens[key], "/model")
        assert card["data"]["database"] is None, key
        assert "crossplan.db" not in json.dumps(card), key
    assert "crossplan.db" in _get(client, tokens["admin"], "/model")["data"]["database"]


def test_an_admin_of_a_country_reads_its_countrys_audit_trail(world: Any) -> None:
    client, tokens, _, _ = world
    every = _get(client, tokens["admin"], "/audit", limit=1000)["events"]
    mine = _get(client, tokens[f"{A.lower()}-admin"], "/audit", limit=1000)["events"]
    assert mine and len(mine) < len(every)
    for event in mine:
        assert event["country"] == A or f'"{A}"' in json.dumps(event["detail"]), event
    names = {e["detail"].get("name") for e in mine if e["action"] == "key_added"}
    assert {f"{A.lower()}-analyst", f"{A.lower()}-admin"} <= names
    assert not names & {f"{C.lower()}-analyst", f"{B.lower()}-analyst"}
