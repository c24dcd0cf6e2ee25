"""A joint operation's life through HTTP, in a world of three countries.

MKD (country A) has an agreement with GRC (B) that opens r002 (GRC) and r006 (MKD) to both;
ALB (C) is party to nothing here. A's planner proposes an operation there to B, A and B
pledge, and it is confirmed; C learns nothing of it anywhere (lists, reads, acts, alerts,
webhooks, its admin's audit trail). A decline or an expiry leaves an operation not launched.
Every step is in the audit trail and in the parties' alerts and webhooks. The service runs in
process on SQLite with a stand-in forecast, and lets plain http reach 127.0.0.1, where the
agencies' webhook receivers listen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.database import Database, next_period, utcnow
from crossplan.pipelines.simulate import simulate_world
from crossplan.serving.auth import KeyStore, Role, add_key
from tests.serving.test_webhook_endpoints import receiving

A, B, C = "MKD", "GRC", "ALB"
THREE = {"seed": 3, "countries": 3, "regions": 14, "periods": 60}
OPERATION_KINDS = ("operation_proposed", "operation_pledged", "operation_declined",
                   "operation_confirmed", "operation_expired", "operation_withdrawn",
                   "operation_cancelled")  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def three_countries(
    asgi_app: Any,
    stand_in_forecast: Callable[..., pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
    **world: Any,
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The service on the three-country world (``world``: options of
    :func:`simulate_world` beside :data:`THREE`): a planner and an analyst of each country's
    border police, an ALB admin, and the operator's admin."""
    three = tmp_path_factory.mktemp("three")
    simulate_world(**THREE, **world).write(three)
    home = tmp_path_factory.mktemp("home")
    forecast = home / "forecast.parquet"
    stand_in_forecast(load_dataset(three)).to_parquet(forecast)
    url = f"sqlite:///{home / 'crossplan.db'}"
    db = Database.connect(url)
    keys = KeyStore(db)
    tokens = {"admin": add_key(keys, "admin", Role.ADMIN)}
    for country in (A, B, C):
        for role in (Role.ANALYST, Role.PLANNER):
            name = f"{country.lower()}-{role.value}"
            tokens[name] = add_key(keys, name, role, country=country, agency="Border Police")
    tokens["alb-admin"] = add_key(keys, "alb-admin", Role.ADMIN, country=C, agency="Border Police")
    db.dispose()
    env = {
        "CROSSPLAN_HOME": str(home),
        "CROSSPLAN_DATA": str(three),
        "CROSSPLAN_DATABASE_URL": url,
        "CROSSPLAN_FORECAST_FILE": str(forecast),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "CROSSPLAN_WEBHOOK_ALLOW": "127.0.0.1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with TestClient(asgi_app) as client:
            yield client, tokens


@pytest.fixture(scope="module")
def world(
    asgi_app: Any,
    stand_in_forecast: Callable[..., pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with three_countries(asgi_app, stand_in_forecast, tmp_path_factory) as served:
        yield served


def _weeks(n: int = 2) -> list[str]:
    first = pd.Timestamp(next_period("weekly", utcnow()))
    return [f"{first + pd.Timedelta(weeks=k):%Y-%m-%d}" for k in range(n)]


def _proposal(**change: Any) -> dict[str, Any]:
    return {
        "regions": ["r002", "r006"],
        "periods": _weeks(),
        "needs": {A: {"shifts": 4}, B: {"shifts": 4}},
        "effort_multiplier": 1.5,
        **change,
    }


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _operation_alerts(client: TestClient, token: str) -> list[dict[str, Any]]:
    alerts = _ok(client.get("/alerts", headers=bearer(token)))["alerts"]
    return [a for a in alerts if a["kind"] in OPERATION_KINDS]


def _posted(posts: list[tuple[dict[str, str], bytes]]) -> list[tuple[str, str]]:
    """(operation id, alert kind) of each post a receiver got."""
    bodies = [json.loads(body)["alert"] for _, body in posts]
    return [(b["operation"]["operation_id"], b["kind"]) for b in bodies]


def test_a_proposal_pledged_by_both_parties_is_confirmed_and_c_learns_nothing(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    with receiving() as (a_url, a_posts, _), receiving() as (b_url, b_posts, _), receiving() as (
        c_url, c_posts, _,
    ):  # fmt: skip
        for country, url in ((A, a_url), (B, b_url), (C, c_url)):
            analyst = bearer(tokens[f"{country.lower()}-analyst"])
            _ok(client.post("/webhooks", json={"url": url}, headers=analyst))
        proposed = _ok(client.post("/operations", json=_proposal(),
                                   headers=bearer(tokens["mkd-planner"])), 201)  # fmt: skip
        op = proposed["operation_id"]
        assert (proposed["status"], proposed["proposed_by"]["country"]) == ("open", A)
        assert [p["answer"] for p in proposed["parties"]] == ["awaiting", "awaiting"]
        # B reads it; C is told nothing, whatever it asks
        listed = _ok(client.get("/operations", headers=bearer(tokens["grc-analyst"])))
        assert [o["operation_id"] for o in listed["operations"]] == [op]
        assert _ok(client.get("/operations", headers=bearer(tokens["alb-planner"]))) == {
            "operations": []
        }
        pledge_c = {"units": [{"unit_id": "ALB-BP-01", "shifts": 4}]}
        for method, path, body in (
            ("GET", f"/operations/{op}", None),
            ("POST", f"/operations/{op}/pledges", pledge_c),
            ("POST", f"/operations/{op}/decline", {}),
            ("POST", f"/operations/{op}/withdraw", {}),
            ("POST", f"/operations/{op}/cancel", {"reason": "curious"}),
        ):
            r = client.request(method, path, json=body, headers=bearer(tokens["alb-planner"]))
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"].startswith(f"no operation {op} of yours")
        # A pledges its own need, then B's pledge meets the last one: confirmed
        mine = {"units": [{"unit_id": "MKD-BP-01", "shifts": 4}]}
        a_pledged = _ok(client.post(f"/operations/{op}/pledges", json=mine,
                                    headers=bearer(tokens["mkd-planner"])))  # fmt: skip
        assert a_pledged["status"] == "open"
        assert a_pledged["parties"][0]["lacks"] == [f"4 shifts in {w}" for w in _weeks()]
        weeks = _weeks()
        theirs = {"units": [{"unit_id": "GRC-BP-01", "shifts": {weeks[0]: 4, weeks[1]: 5}}]}
        confirmed = _ok(client.post(f"/operations/{op}/pledges", json=theirs,
                                    headers=bearer(tokens["grc-planner"])))  # fmt: skip
        assert confirmed["status"] == "confirmed"
        assert [e["kind"] for e in confirmed["events"]] == [
            "proposed", "pledged", "pledged", "confirmed",
        ]  # fmt: skip
        # B reads A's pledge as shifts per period, not A's units; its own in full
        parties = {p["country"]: p for p in confirmed["parties"]}
        assert parties[A]["units"] is None and parties[A]["pledged"] == dict.fromkeys(weeks, 4)
        assert parties[B]["units"][0]["unit_id"] == "GRC-BP-01"
        assert confirmed["events"][1]["by"] == {"key": None, "agency": "Border Police",
                                                "country": A}  # fmt: skip
        # every step in both parties' alerts, and posted to their webhooks; none to C
        for token in ("mkd-analyst", "grc-planner"):
            told = _operation_alerts(client, tokens[token])
            assert [a["kind"] for a in told] == [
                "operation_confirmed", "operation_pledged", "operation_pledged",
                "operation_proposed",
            ]  # fmt: skip
            assert {a["operation"]["operation_id"] for a in told} == {op}
            assert told[0]["region_id"] is None and told[0]["operation"]["status"] == "confirmed"
        assert _operation_alerts(client, tokens["alb-analyst"]) == []
        deadline = time.monotonic() + 10
        while (len(a_posts) < 4 or len(b_posts) < 4) and time.monotonic() < deadline:
            time.sleep(0.05)
        for posts in (a_posts, b_posts):
            assert sorted(_posted(posts)) == sorted(
                [(op, "operation_proposed"), (op, "operation_pledged"),
                 (op, "operation_pledged"), (op, "operation_confirmed")]
            )  # fmt: skip
        time.sleep(0.3)  # time for a wrong post to C to arrive
        assert c_posts == []
    # every step in the audit trail: the operator's admins and A's read it, C's admin does not
    trail = _ok(client.get("/audit?limit=200", headers=bearer(tokens["admin"])))["events"]
    steps = [(e["actor"], e["action"]) for e in trail if e["detail"].get("operation_id") == op]
    assert steps == [
        ("grc-planner", "operation_confirmed"), ("grc-planner", "operation_pledged"),
        ("mkd-planner", "operation_pledged"), ("mkd-planner", "operation_proposed"),
    ]  # fmt: skip
    theirs_read = _ok(client.get("/audit?limit=200", headers=bearer(tokens["alb-admin"])))
    assert not [e for e in theirs_read["events"] if e["action"] in OPERATION_KINDS]
    # the operator reads everything, units and key names included
    whole = _ok(client.get(f"/operations/{op}", headers=bearer(tokens["admin"])))
    assert [p["units"] is not None for p in whole["parties"]] == [True, True]
    # nothing more is pledged to a confirmed operation
    again = client.post(
        f"/operations/{op}/pledges", json=mine, headers=bearer(tokens["mkd-planner"])
    )
    assert again.status_code == 409 and f"{op} is confirmed" in again.json()["error"]


def test_a_decline_leaves_the_operation_not_launched(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    proposed = _ok(client.post("/operations", json=_proposal(),
                               headers=bearer(tokens["mkd-planner"])), 201)  # fmt: skip
    op = proposed["operation_id"]
    reason = {"reason": "our patrols are elsewhere that week"}
    declined = _ok(client.post(f"/operations/{op}/decline", json=reason,
                               headers=bearer(tokens["grc-planner"])))  # fmt: skip
    assert declined["parties"][0]["answer"] == "declined"  # GRC sorts first
    assert declined["events"][-1]["reason"] == reason["reason"]
    mine = {"units": [{"unit_id": "MKD-BP-01", "shifts": 4}]}
    after = _ok(client.post(f"/operations/{op}/pledges", json=mine,
                            headers=bearer(tokens["mkd-planner"])))  # fmt: skip
    assert after["status"] == "open"  # never confirmed: GRC's need stays unmet
    theirs = {"units": [{"unit_id": "GRC-BP-01", "shifts": 4}]}
    r = client.post(f"/operations/{op}/pledges", json=theirs, headers=bearer(tokens["grc-planner"]))
    assert r.status_code == 409 and "GRC declined" in r.json()["error"]
    told = _operation_alerts(client, tokens["mkd-analyst"])
    assert (told[1]["kind"], told[1]["operation"]["reason"]) == (
        "operation_declined", reason["reason"],
    )  # fmt: skip
    # only A, which proposed it, withdraws it
    r = client.post(f"/operations/{op}/withdraw", json={}, headers=bearer(tokens["grc-planner"]))
    assert r.status_code == 403 and "only MKD" in r.json()["error"]
    gone = _ok(client.post(f"/operations/{op}/withdraw", json={},
                           headers=bearer(tokens["mkd-planner"])))  # fmt: skip
    assert gone["status"] == "withdrawn"


def test_an_operation_past_its_deadline_expires_unlaunched(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    soon = (utcnow() + timedelta(seconds=1.5)).isoformat() + "Z"
    proposed = _ok(client.post("/operations", json=_proposal(deadline=soon),
                               headers=bearer(tokens["mkd-planner"])), 201)  # fmt: skip
    op = proposed["operation_id"]
    time.sleep(2)
    listed = _ok(client.get("/operations?status=expired", headers=bearer(tokens["grc-analyst"])))
    assert op in [o["operation_id"] for o in listed["operations"]]
    read = _ok(client.get(f"/operations/{op}", headers=bearer(tokens["grc-analyst"])))
    assert [e["kind"] for e in read["events"]] == ["proposed", "expired"]
    assert _operation_alerts(client, tokens["grc-analyst"])[0]["kind"] == "operation_expired"
    mine = {"units": [{"unit_id": "MKD-BP-01", "shifts": 4}]}
    r = client.post(f"/operations/{op}/pledges", json=mine, headers=bearer(tokens["mkd-planner"]))
    assert r.status_code == 409 and f"{op} is expired" in r.json()["error"]


@pytest.mark.parametrize(
    ("token", "path", "body", "status", "says"),
    [
        # a region of C's that no agreement opens to A: located where it is
        ("mkd-planner", "/operations", _proposal(regions=["r002", "r003"]), 400, "regions[1]"),
        # a need of a country with no region in the panel
        (
            "mkd-planner",
            "/operations",
            _proposal(needs={A: {"shifts": 4}, "XXX": {"shifts": 1}}),
            400,
            "needs.XXX",
        ),
        # the body's shape: pydantic's problems, located too
        ("mkd-planner", "/operations", {"regions": []}, 400, "regions"),
        # analysts read; planners propose
        ("mkd-analyst", "/operations", _proposal(), 403, "may not plan"),
        # A proposes operations A is party to
        ("alb-planner", "/operations", _proposal(), 403, "proposes operations ALB is party to"),
        # a path that names no operation id
        ("mkd-planner", "/operations/JO 7", None, 400, "operation_id"),
    ],
)
def test_refusals_say_what_is_wrong_and_where(
    world: tuple[TestClient, dict[str, str]],
    token: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    says: str,
) -> None:
    client, tokens = world
    method = "GET" if body is None else "POST"
    r = client.request(method, path, json=body, headers=bearer(tokens[token]))
    assert r.status_code == status, r.text
    assert says in r.text


def test_the_document_says_what_each_operation_endpoint_refuses(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = world
    paths = client.get("/docs.json").json()["paths"]
    expected = {
        ("/operations", "post"): {"400", "401", "403", "409"},
        ("/operations", "get"): {"400", "401", "403"},
        ("/operations/{operation_id}", "get"): {"400", "401", "403", "404"},
        ("/operations/{operation_id}/pledges", "post"): {"400", "401", "403", "404", "409"},
        ("/operations/{operation_id}/decline", "post"): {"400", "401", "403", "404", "409"},
        ("/operations/{operation_id}/withdraw", "post"): {"400", "401", "403", "404", "409"},
        ("/operations/{operation_id}/cancel", "post"): {"400", "401", "403", "404", "409"},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert {s for s in responses if s.startswith("4")} == statuses, (path, method)
    assert "201" in paths["/operations"]["post"]["responses"]


def test_the_manual_s_examples_carry_an_operation_through_its_life(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    """Every example of the operation endpoints and of webhooks, drawn from the served panel
    for the key that reads the manual, is accepted when sent with that key; the manual read
    without a key names no region, unit or partner."""
    client, tokens = world
    anonymous = client.get("/docs.json")
    for path in ("/operations", "/operations/{operation_id}/pledges", "/webhooks"):
        content = anonymous.json()["paths"][path]["post"]["requestBody"]["content"]
        assert "examples" not in content["application/json"], path
    assert "r002" not in anonymous.text and "Cache-Control" not in anonymous.headers

    def examples(key: str, path: str) -> dict[str, Any]:
        r = client.get("/docs.json", headers=bearer(tokens[key]))
        assert r.headers["Cache-Control"] == "private, no-store"
        content = r.json()["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        return {name: e["value"] for name, e in content["examples"].items()}

    def send(path: str, key: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        return _ok(client.post(path, json=body, headers=bearer(tokens[key])), status)

    analyst = client.get("/docs.json", headers=bearer(tokens["mkd-analyst"])).json()
    content = analyst["paths"]["/operations"]["post"]["requestBody"]["content"]
    assert "examples" not in content["application/json"]  # it may not propose
    (proposal,) = examples("mkd-planner", "/operations").values()
    a, b = proposal["needs"]  # MKD and the partner of its first agreement with units
    assert a == A
    planner = {a: f"{a.lower()}-planner", b: f"{b.lower()}-planner"}

    def propose() -> str:
        return str(send("/operations", planner[a], proposal, 201)["operation_id"])

    def at(op: str, step: str) -> str:
        return f"/operations/{op}/{step}"

    def example(key: str, step: str) -> dict[str, Any]:
        (body,) = examples(key, f"/operations/{{operation_id}}/{step}").values()
        return body

    first = propose()
    mine = example(planner[a], "pledges")
    assert {u["unit_id"][:3] for u in mine["units"]} == {a}  # its own unit, no other's
    send(at(first, "pledges"), planner[a], mine)
    assert send(at(first, "pledges"), planner[b], example(planner[b], "pledges"))["status"] == (
        "confirmed"
    )
    assert send(at(propose(), "decline"), planner[b], example(planner[b], "decline"))
    # The operator proposes between two parties of an agreement and names the party it acts for.
    (between,) = examples("admin", "/operations").values()
    second = str(send("/operations", "admin", between, 201)["operation_id"])
    for body in examples("admin", "/operations/{operation_id}/pledges").values():
        done = send(at(second, "pledges"), "admin", body)
    assert done["status"] == "confirmed"
    third = str(send("/operations", "admin", between, 201)["operation_id"])
    declined = send(at(third, "decline"), "admin", example("admin", "decline"))
    assert "declined" in [p["answer"] for p in declined["parties"]]
    assert (
        send(at(propose(), "withdraw"), planner[a], example(planner[a], "withdraw"))["status"]
        == "withdrawn"
    )
    assert send(at(first, "cancel"), planner[b], example(planner[b], "cancel"))["status"] == (
        "cancelled"
    )
    (hook,) = examples(planner[a], "/webhooks").values()
    assert hook["url"].startswith("http://127.0.0.1/")  # the host the operator allows
    send("/webhooks", planner[a], hook)
