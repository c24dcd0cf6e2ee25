"""What keeps one caller from taking the service: plan limits, the plan queue, the killable
planning process, metrics that callers cannot grow, and a contract true to the API."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.plan_request import SERVICE_LIMITS
from crossplan.serving.http_errors import PlansBusyError
from crossplan.serving.isolation import (
    ChildDied,
    ChildTimedOut,
    await_group_end,
    run_isolated,
    start_forkserver,
)
from crossplan.serving.logs import escape
from crossplan.serving.plan_process import PlanGate


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_killed_plan_leaves_no_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    # A stand-in for CBC: a grandchild that would run for ten minutes.
    script = f"echo $$ > {pid_file}; exec sleep 600"
    start_forkserver()  # its imports are not the plan's time
    began = time.monotonic()
    with pytest.raises(ChildTimedOut):
        run_isolated(os.system, (script,), timeout=2, memory_bytes=2**30)
    # Returned at the deadline, not when the grandchild would have ended; generous for a
    # busy machine.
    assert time.monotonic() - began < 20
    pid = int(pid_file.read_text())
    # Already dead on return, not merely signalled.
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_killed_group_is_waited_for_until_nothing_of_it_runs() -> None:
    sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)  # a group of its own
    try:
        os.killpg(sleeper.pid, signal.SIGKILL)
        await_group_end(sleeper.pid)  # not reaped: it may only be a zombie on return
        assert psutil.Process(sleeper.pid).status() == psutil.STATUS_ZOMBIE
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_group_that_outlives_its_kill_is_reported_not_waited_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)  # never killed here
    try:
        began = time.monotonic()
        await_group_end(sleeper.pid, within=0.2)
        assert time.monotonic() - began < 5
        assert f"[{sleeper.pid}] (group {sleeper.pid}) still run" in caplog.text
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_plan_over_its_memory_cap_fails_in_its_own_process() -> None:
    with pytest.raises(ChildDied, match="memory"):
        run_isolated(bytearray, (3 * 2**30,), timeout=30, memory_bytes=2**30)
    assert run_isolated(len, ("ok",), timeout=30, memory_bytes=2**30) == 2  # still works


def test_plans_beyond_the_queue_are_refused_with_retry_after() -> None:
    gate = PlanGate(slots=1, queue=1)
    running, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.admit(time.monotonic() + 30):
            running.set()
            release.wait(30)

    first = threading.Thread(target=hold)
    first.start()
    running.wait(10)
    waiting = threading.Thread(target=hold)  # takes the one place in the queue
    waiting.start()
    time.sleep(0.2)
    with pytest.raises(PlansBusyError) as refused, gate.admit(time.monotonic() + 30):
        pass
    assert refused.value.retry_after >= 1
    release.set()
    first.join()
    waiting.join()
    with gate.admit(time.monotonic() + 1):  # free again
        pass


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        ("GET /x\n2026 [INFO] forged", "GET /x\\n2026 [INFO] forged"),  # newline
        ("a\rb\x1b[31m", "a\\rb\\x1b[31m"),  # carriage return, terminal escape
        ("a\u2028b", "a\\u2028b"),  # Unicode line separator
        ("plain 'text' é", "plain 'text' é"),  # printable text is left alone
    ],
)
def test_control_characters_are_escaped_in_the_log(text: str, logged: str) -> None:
    assert escape(text) == logged


def test_plans_larger_than_the_limits_are_refused_before_any_build(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, tokens = shared
    assert tiny_dataset.resources is not None
    doc: dict[str, Any] = tiny_dataset.resources.model_dump(mode="json")
    unit = doc["units"][0]
    too_many = SERVICE_LIMITS.max_units + 100
    doc["units"] = [{**unit, "unit_id": f"U{i}"} for i in range(too_many)]
    began = time.monotonic()
    r = client.post("/plan", json={"resources": doc}, headers=_bearer(tokens["planner"]))
    assert r.status_code == 400
    assert time.monotonic() - began < 5
    fixes = [p["fix"] for p in r.json()["problems"]]
    assert any(f"at most {SERVICE_LIMITS.max_units} units" in f for f in fixes)


_ROW = {"region_id": "r002", "period": "2030-01-07", "activity_mean": 1.0,
        "activity_q10": 0.5, "activity_q50": 1.0, "activity_q90": 2.0,
        "detection_rate": 0.1}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field", "fix"),
    [
        ({"forecast": []}, "forecast", "at least 1"),  # was a 500
        # forecast rows: JSON types, as documented, before any value is looked at
        ({"forecast": [1]}, "forecast[0]", "give each row as {...}"),
        ({"forecast": [{**_ROW, "kappa": 1}]}, "forecast[0].kappa", "use only the fields"),
        ({"forecast": [_ROW, {**_ROW, "activity_mean": True}]}, "forecast[1].activity_mean",
         "give a number"),
        ({"forecast": [{**_ROW, "activity_q90": "9"}]}, "forecast[0].activity_q90",
         "give a number"),
        ({"forecast": [{**_ROW, "region_id": ""}]}, "forecast[0].region_id", "1 to 200"),
        ({"forecast": [{**_ROW, "detection_rate": 11}]}, "forecast[0].detection_rate",
         "at most 10"),
        ({"horizon": True}, "horizon", "whole number"),  # was taken as 1
        ({"horizon": 13}, "horizon", "at most 12"),  # the fix says how, not "correct"
        ({"time_limit_s": 601}, "time_limit_s", "at most 600"),
        ({"solver": "gurobi"}, "solver", "one of 'cbc' or 'highs'"),
    ],
)  # fmt: skip
def test_bad_plan_bodies_get_400_with_a_fix_that_says_how(
    shared: tuple[TestClient, dict[str, str]], body: dict[str, Any], field: str, fix: str
) -> None:
    client, tokens = shared
    r = client.post("/plan", json=body, headers=_bearer(tokens["planner"]))
    assert r.status_code == 400
    (problem,) = [p for p in r.json()["problems"] if p["field"] == field]
    assert fix in problem["fix"]


def test_an_empty_body_says_to_send_one(shared: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = shared
    r = client.post("/plan", headers=_bearer(tokens["planner"]))
    assert r.status_code == 400
    assert "None" not in r.text
    assert "send a JSON object" in r.json()["problems"][0]["fix"]


def test_the_openapi_document_is_true_to_the_api(
    shared: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = shared
    spec = client.get("/docs.json").json()
    assert spec["openapi"] == "3.1.0"  # the syntax FastAPI writes
    assert spec["info"]["version"] not in ("", "None")
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert all(op["responses"].get("422", {}).get("description") != "Validation Error"
               for op in operations)  # fmt: skip
    assert "400" in spec["paths"]["/plans"]["get"]["responses"]
    r = client.get("/plans", params={"limit": 0}, headers=_bearer(tokens["analyst"]))
    assert r.status_code == 400  # as documented
    geojson = spec["paths"]["/regions"]["get"]["responses"]["200"]["content"]
    assert list(geojson) == ["application/geo+json"]
    r = client.get("/regions", headers=_bearer(tokens["analyst"]))
    assert r.headers["content-type"].startswith("application/geo+json")
    assert set(spec["paths"]["/plan"]["post"]["responses"]) >= {"400", "429", "503", "504"}
    said = spec["components"]["schemas"]["PlanRequest"]["properties"]["resources"]["description"]
    limits = SERVICE_LIMITS  # the limits the service applies, as the document states them
    assert f"at most {limits.max_units} units" in said
    assert f"{limits.max_joint_operations} candidate joint operations" in said
    assert f"{limits.max_cells:,} units × regions × periods" in said


def test_random_paths_do_not_grow_the_metrics(shared: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = shared
    admin = _bearer(tokens["admin"])
    for _ in range(2):  # every series this test touches exists before it counts
        client.get("/no-such-path-0")
        client.get(f"/plans/{0:032x}", headers=admin)
        before = client.get("/metrics", headers=admin).text
    for i in range(1, 200):
        client.get(f"/no-such-path-{i}")
        client.get(f"/plans/{i:032x}", headers=admin)
    after = client.get("/metrics", headers=admin).text
    assert "no-such-path" not in after
    assert 'route="unmatched"' in after
    assert 'route="/plans/{plan_id}"' in after
    assert _series(after) == _series(before)  # only the counts changed ...
    assert len(after) < 1.1 * len(before)  # ... by a few digits


def _series(page: str) -> set[str]:
    """The series of a Prometheus text page: each sample's name and labels."""
    return {line.rsplit(" ", 1)[0] for line in page.splitlines() if not line.startswith("#")}


def test_a_plan_beyond_the_queue_gets_429_with_retry_after(
    shared: tuple[TestClient, dict[str, str]],
) -> None:
    import bentoml

    client, tokens = shared
    service = bentoml.get_current_service()
    served_gate = service.plan_gate
    service.plan_gate = full = PlanGate(slots=1, queue=0)
    release = threading.Event()

    def hold() -> None:
        with full.admit(time.monotonic() + 30):
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        time.sleep(0.2)
        r = client.post("/plan", json={"horizon": 1}, headers=_bearer(tokens["planner"]))
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert "retry after" in r.json()["error"]
    finally:
        release.set()
        holder.join()
        service.plan_gate = served_gate


def test_a_plan_over_the_configured_size_gets_400_with_the_largest_that_fits(
    shared: tuple[TestClient, dict[str, str]],
) -> None:
    import bentoml

    client, tokens = shared
    service = bentoml.get_current_service()
    served = service.settings
    n_regions = len(service.snapshot.dataset.regions)
    # Room for 2 units over 2 periods: the served resources have more.
    service.settings = dataclasses.replace(served, plan_max_cells=2 * n_regions * 2)
    try:
        r = client.post("/plan", json={"horizon": 2}, headers=_bearer(tokens["planner"]))
    finally:
        service.settings = served
    assert r.status_code == 400
    (problem,) = r.json()["problems"]
    assert f"a plan takes at most {2 * n_regions * 2:,}" in problem["message"]
    assert "at most 2 units for this horizon" in problem["fix"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/plans/a%0Ab", 404),  # a newline no route of the service takes
        ("GET", "/no-such-path", 404),
        ("POST", "/healthz", 405),
        ("DELETE", "/plans", 405),
        ("PUT", "/forecast", 405),
    ],
)
def test_unknown_paths_and_methods_answer_json_like_every_error(
    shared: tuple[TestClient, dict[str, str]], method: str, path: str, status: int
) -> None:
    client, tokens = shared
    r = client.request(method, path, headers=_bearer(tokens["admin"]))
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert "fix:" in r.json()["error"]
    if status == 405:
        assert r.headers["allow"]


def test_a_single_valued_parameter_given_twice_is_refused(
    shared: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = shared
    admin = _bearer(tokens["admin"])
    r = client.get("/plans?requester=a&requester=b", headers=admin)
    assert r.status_code == 400  # not the last value, silently
    (problem,) = r.json()["problems"]
    assert problem["field"] == "requester" and problem["fix"] == "give it once"
    assert client.get("/plans?requester=a&limit=5", headers=admin).status_code == 200
    # a list parameter takes several values
    r = client.get("/incidents?region=r002&region=r003&start=2024-02-26", headers=admin)
    assert r.status_code == 200
