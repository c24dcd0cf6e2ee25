"""The service as planners meet it: a real ``bentoml serve`` process and an HTTP client.

Few tests, each covering a lot, because every server takes seconds to start.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossplan.pipelines.contract import Dataset
from crossplan.serving.cli import main

pytestmark = pytest.mark.slow


def _resources_doc(dataset: Dataset) -> dict[str, Any]:
    """The served data directory's resources as a JSON document."""
    assert dataset.resources is not None
    return dataset.resources.model_dump(mode="json")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_planners_get_forecasts_plans_and_errors_over_http(
    service_home: Any,
    promote_new_version: Callable[[str], str],
    tiny_world_dir: Path,
    tiny_dataset: Dataset,
    tmp_path: Path,
    run_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, keys = service_home(tmp_path / "home", champion=True)
    planner, analyst, admin = (bearer(keys[r]) for r in ("planner", "analyst", "admin"))
    with run_server(env, tiny_world_dir, tmp_path / "server.log") as server:
        http = server.http
        # forecast, plan, then the plan and its GeoJSON back
        r = http.post("/forecast", json={"horizon": 2}, headers=planner)
        assert r.status_code == 200
        n_cells = len(tiny_dataset.regions) * len(tiny_dataset.categories)
        assert len(r.json()["forecasts"]) == 2 * n_cells
        r = http.post("/plan", json={"horizon": 1}, headers=planner)
        assert r.status_code == 200, r.text
        plan = r.json()
        assert http.get(f"/plans/{plan['plan_id']}", headers=analyst).json() == plan
        geo = http.get(f"/plans/{plan['plan_id']}/geojson", headers=analyst).json()
        assert len(geo["features"]) == len(tiny_dataset.regions)

        # keys and roles
        assert http.post("/forecast", json={"horizon": 1}).status_code == 401
        assert (
            http.post("/forecast", json={"horizon": 1}, headers=bearer("cpk_x")).status_code == 401
        )
        assert http.post("/plan", json={"horizon": 1}, headers=analyst).status_code == 403
        assert http.post("/admin/reload", headers=planner).status_code == 403

        # a bad body names its field; an infeasible plan gets the diagnosis
        r = http.post("/plan", json={"horizon": 1, "solver": "gurobi"}, headers=planner)
        assert r.status_code == 400
        assert [p["field"] for p in r.json()["problems"]] == ["solver"]
        resources: dict[str, Any] = _resources_doc(tiny_dataset)
        resources["policy"]["min_shifts_per_region"] = 10_000
        r = http.post("/plan", json={"horizon": 1, "resources": resources}, headers=planner)
        assert r.status_code == 422
        assert r.json()["diagnosis"]

        # a new model is promoted: reload switches to it while forecasts keep flowing
        before = http.get("/model", headers=analyst).json()["version"]
        new = promote_new_version(env["MLFLOW_TRACKING_URI"])
        statuses: list[int] = []
        stop = threading.Event()

        def keep_asking() -> None:
            with httpx.Client(base_url=str(http.base_url), timeout=60) as own:
                while not stop.is_set():
                    statuses.append(
                        own.post("/forecast", json={"horizon": 1}, headers=planner).status_code
                    )

        workers = [threading.Thread(target=keep_asking) for _ in range(4)]
        for w in workers:
            w.start()
        time.sleep(0.3)
        r = http.post("/admin/reload", headers=admin)
        time.sleep(0.3)
        stop.set()
        for w in workers:
            w.join()
        assert r.status_code == 200
        assert r.json()["previous_version"] == before
        after = http.get("/model", headers=analyst).json()["version"]
        assert (before, after) == ("1", new)
        assert len(statuses) > 10
        assert set(statuses) == {200}
        assert (
            http.post("/forecast", json={"horizon": 1}, headers=planner).json()["model"]["version"]
            == after
        )

        # the reload is in the audit trail, for admins only
        events = http.get("/audit", headers=admin).json()["events"]
        assert (events[0]["action"], events[0]["detail"]["version"]) == ("reload", after)
        assert http.get("/audit", headers=planner).status_code == 403

        # a reporter's week arrives through `crossplan submit`; the next forecast uses it
        week = tmp_path / "week.csv"
        row = "r002,2024-02-26,smuggling_of_migrants,2,3,4.0"
        week.write_text(f"region_id,period,category,reported,detected,effort\n{row}\n")
        argv = ["submit", "--file", str(week), "--url", str(http.base_url)]
        assert main([*argv, "--key", keys["reporter"]]) == 0
        assert main([*argv, "--key", keys["reporter"]]) == 0  # the same file: nothing new
        r = http.post("/forecast", json={"horizon": 1}, headers=planner).json()
        assert r["data"]["newest_period"]["GRC"] == "2024-02-26"
        assert r["forecasts"][0]["period"] == "2024-03-04"
        # ... and the reporter reads it back: its receipt and the row it stored
        mine = ["--url", str(http.base_url), "--key", keys["reporter"]]
        assert main(["submissions", "list", *mine, "--json", str(tmp_path / "s.json")]) == 0
        sent = json.loads((tmp_path / "s.json").read_text())["submissions"][0]
        assert (sent["file"], sent["country"], sent["new"]) == ("week.csv", "GRC", 1)
        assert main(["submissions", "rows", str(sent["id"]), *mine,
                     "--json", str(tmp_path / "r.json")]) == 0  # fmt: skip
        (stored,) = json.loads((tmp_path / "r.json").read_text())["rows"]
        assert (stored["region_id"], stored["detected"], stored["current"]) == ("r002", 3, True)

        # a file with four problems: `crossplan validate`, asking the service or checking the
        # service's database here, finds what a submission of it is refused for
        bad = tmp_path / "bad.csv"
        bad.write_text(
            "region_id,period,category,reported,detected,effort,sourse\n"
            "r002,2024-02-26,smugling_of_migrants,2,3,4.0,x\n"  # a misspelt category
            "r010,2024-02-26,smuggling_of_migrants,2,3,4.0,x\n"  # MKD's region
            "r003,2024-02-26,smuggling_of_migrants,-2,3,4.0,x\n"  # a negative count
        )  # and a misspelt column, 'sourse'
        found = []
        for where in (["--url", str(http.base_url)], ["--database"]):
            monkeypatch.setenv("CROSSPLAN_HOME", env["CROSSPLAN_HOME"])
            monkeypatch.delenv("CROSSPLAN_DATABASE_URL", raising=False)
            out = tmp_path / "problems.json"
            argv = ["validate", "--file", str(bad), *where, "--key", keys["reporter"]]
            assert main([*argv, "--json", str(out)]) == 2
            found.append(json.loads(out.read_text())["problems"])
        r = http.post("/submissions", params={"file": "bad.csv"}, content=bad.read_bytes(),
                      headers={**bearer(keys["reporter"]), "Content-Type": "text/csv"})  # fmt: skip
        assert r.status_code == 400 and len(r.json()["problems"]) == 4, r.text
        assert found == [r.json()["problems"]] * 2

        # health needs no key; metrics are for admins, and carry our own figures
        assert http.get("/healthz").status_code == 200
        assert http.get("/metrics").status_code == 401
        metrics = http.get("/metrics", headers=bearer(keys["admin"])).text
        assert 'crossplan_plans_total{solver="cbc",status="optimal"} 1.0' in metrics
        assert 'crossplan_plans_total{solver="cbc",status="infeasible"} 1.0' in metrics
        assert f'version="{after}"}} 1.0' in metrics
    log = (tmp_path / "server.log").read_text()
    assert "POST /plan" in log or "path=/plan" in log  # requests are logged ...
    assert all(token not in log for token in keys.values())  # ... keys are not


def test_plans_survive_a_crash_and_a_restart(
    service_home: Any, tiny_world_dir: Path, tmp_path: Path, run_server: Any
) -> None:
    env, keys = service_home(tmp_path / "home", champion=True)
    planner = bearer(keys["planner"])
    log = tmp_path / "server.log"
    with run_server(env, tiny_world_dir, log) as server:
        http = server.http
        made = []
        for solver in ("cbc", "highs", "cbc"):
            r = http.post("/plan", json={"horizon": 1, "solver": solver}, headers=planner)
            assert r.status_code == 200, r.text
            made.append(r.json())
        # Crash (SIGKILL) while a plan is being made: it is stored whole or not at all.
        in_flight = threading.Thread(
            target=_ignore_errors,
            args=(lambda: http.post("/plan", json={"horizon": 1}, headers=planner),),
        )
        in_flight.start()
        time.sleep(0.05)
        server.crash()
        in_flight.join()
    db = Path(env["CROSSPLAN_HOME"]) / "crossplan.db"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with run_server(env, tiny_world_dir, log) as server:
        http = server.http
        listed = http.get("/plans", headers=planner).json()["plans"]
        ids = [p["plan_id"] for p in listed]
        assert {p["plan_id"] for p in made} <= set(ids)
        assert len(ids) in (3, 4)
        for plan_id in ids:
            assert http.get(f"/plans/{plan_id}", headers=planner).json()["plan_id"] == plan_id
        for plan in made:
            assert http.get(f"/plans/{plan['plan_id']}", headers=planner).json() == plan


def _ignore_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()
