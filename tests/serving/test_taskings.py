"""A stored plan's taskings and what moved between two plans, through the service and the
command line on one SQLite database of the tiny world (GRC: r002-r008; MKD: r001, r009, r010;
the GRC-MKD agreement covers r001, r004, r007, r008 and r009; JO-1 covers r001, r004, r007).

The sharing rules are those of ``GET /plans/{id}``: each answer is checked against what the
same key reads there.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database, PlanStore
from crossplan.serving.auth import KeyStore, Role, add_key
from crossplan.serving.cli import main
from crossplan.serving.tasking import TASKING_COLUMNS
from tests.serving.conftest import _point_service_at

KEYS = {
    "grc-planner": (Role.PLANNER, "GRC", "Border Police"),
    "grc-police": (Role.ANALYST, "GRC", "National Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
}
PLAN = {"horizon": 2, "time_limit_s": 30}


class World:
    """The service, its keys, the served resources, and three stored plans: the operator's
    (``central``), the operator's with GRC-BP-01 cut to 3 shifts a period (``cut``), and GRC
    Border Police's own (``grc``)."""

    def __init__(self, client: TestClient, tokens: dict[str, str], database: str) -> None:
        self.client, self.tokens, self.database = client, tokens, database
        self.resources = self.get("planner", "/resources").json()
        self.names = {
            f["properties"]["region_id"]: f["properties"]["name"]
            for f in self.get("planner", "/regions").json()["features"]
        }
        cut = json.loads(json.dumps(self.resources))
        for unit in cut["units"]:
            if unit["unit_id"] == "GRC-BP-01":
                unit["shifts_per_period"] = 3
        self.central = self.plan("planner", PLAN)
        self.cut = self.plan("planner", {**PLAN, "resources": cut})
        self.grc = self.plan("grc-planner", PLAN)

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(
            path, params=params, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )

    def plan(self, who: str, body: dict[str, Any]) -> str:
        r = self.client.post(
            "/plan", json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["plan_id"])

    def read(self, who: str, plan_id: str) -> dict[str, Any]:
        r = self.get(who, f"/plans/{plan_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture(scope="module")
def world(
    asgi_app: Any, service_home: Any, forecast_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    home = tmp_path_factory.mktemp("home")
    env, tokens = service_home(home, forecast=forecast_file)
    database = f"sqlite:///{home / 'crossplan.db'}"
    db = Database.connect(database)
    keys = KeyStore(db)
    for name, (role, country, agency) in KEYS.items():
        tokens[name] = add_key(keys, name, role, country=country, agency=agency)
    db.dispose()
    with pytest.MonkeyPatch.context() as mp:
        _point_service_at(env, mp)
        with TestClient(asgi_app) as client:
            yield World(client, tokens, database)


def _expected(plan: dict[str, Any], world: World) -> list[dict[str, str]]:
    """The tasking rows of a plan body, from its assignments, the served units, the
    regions' names and the launched joint operations' regions (the obvious reading)."""
    units = {u["unit_id"]: u for u in world.resources["units"]}
    regions = {j["operation_id"]: j["regions"] for j in world.resources["joint_operations"]}
    launched = [
        (o["operation_id"], s["period"])
        for o in plan["joint_operations"]
        for s in o["periods"]
        if s["launched"]
    ]
    rows = [
        {
            "unit_id": a["unit_id"],
            "agency": units[a["unit_id"]]["agency"],
            "country": units[a["unit_id"]]["country"],
            "period": a["period"],
            "region_id": a["region_id"],
            "region_name": world.names[a["region_id"]],
            "shifts": str(a["shifts"]),
            "joint_operation": ";".join(
                sorted(
                    op for op, p in launched if p == a["period"] and a["region_id"] in regions[op]
                )
            ),
        }
        for a in plan["assignments"]
        if a["shifts"] > 0
    ]
    return sorted(rows, key=lambda r: (r["unit_id"], r["period"], r["region_id"]))


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == TASKING_COLUMNS
    return list(reader)


def test_the_tasking_csv_is_the_plans_assignments_unit_by_unit(world: World) -> None:
    plan = world.read("planner", world.central)
    r = world.get("planner", f"/plans/{world.central}/tasking.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(
        rf'attachment; filename="tasking-{world.central[:8]}\.csv"',
        r.headers["content-disposition"],
    )
    rows = _rows(r.text)
    assert rows == _expected(plan, world)
    # The operator's plan of every unit: both countries' units, a launched joint operation
    # named on the rows inside its regions.
    assert {row["country"] for row in rows} == {"GRC", "MKD"}
    if any(s["launched"] for o in plan["joint_operations"] for s in o["periods"]):
        assert any(row["joint_operation"] == "JO-1" for row in rows)
    # the plan itself names its regions and its operations' regions
    assert all(a["region_name"] == world.names[a["region_id"]] for a in plan["assignments"])
    assert all(o["regions"] == ["r001", "r004", "r007"] for o in plan["joint_operations"])


def test_a_plan_stored_with_one_operation_row_per_period_reads_as_one_made_today(
    world: World,
) -> None:
    db = Database.connect(world.database)
    store = PlanStore(db)
    record = store.get(world.central)
    assert record is not None
    body = record.response
    rows = [  # how plans were stored before operations were grouped
        {"operation_id": o["operation_id"], **s, "regions": o["regions"]}
        for o in body["joint_operations"]
        for s in o["periods"]
    ]
    assert len(rows) == 2 * len(body["joint_operations"]) > 0  # two periods each
    old = {**body, "plan_id": "old-central", "joint_operations": rows}
    store.add(dataclasses.replace(record, plan_id="old-central", response=old))
    db.dispose()
    assert world.read("planner", "old-central") == {
        **world.read("planner", world.central),
        "plan_id": "old-central",
    }
    tasking = world.get("planner", "/plans/old-central/tasking.csv")
    assert _rows(tasking.text) == _rows(
        world.get("planner", f"/plans/{world.central}/tasking.csv").text
    )


@pytest.mark.parametrize(
    ("reader", "plan", "country"),
    [
        # a partner reads the operator's plan: its own units only, in the regions it reads
        ("mkd-analyst", "central", "MKD"),
        # another agency of the planner's country reads its plan: the country's units
        ("grc-police", "grc", "GRC"),
    ],
)
def test_a_readers_tasking_holds_what_it_reads_of_the_plan(
    world: World, reader: str, plan: str, country: str
) -> None:
    plan_id = getattr(world, plan)
    read = world.read(reader, plan_id)
    rows = _rows(world.get(reader, f"/plans/{plan_id}/tasking.csv").text)
    assert rows == _expected(read, world)
    assert rows and {r["country"] for r in rows} == {country}
    whole = _rows(world.get("planner", f"/plans/{plan_id}/tasking.csv").text)
    assert len(rows) <= len(whole)
    # the page holds the same units, and no figure of a plan the reader may not see figures of
    page = world.get(reader, f"/plans/{plan_id}/tasking").text
    assert set(re.findall(r'data-unit-id="([^"]+)"', page)) == {r["unit_id"] for r in rows}


def test_a_country_the_plan_does_not_involve_gets_404_on_every_door(world: World) -> None:
    # GRC Border Police's plan assigns GRC units and launches no operation: MKD is not in it
    assert world.get("mkd-analyst", f"/plans/{world.grc}").status_code == 404
    for path, params in [
        (f"/plans/{world.grc}/tasking.csv", {}),
        (f"/plans/{world.grc}/tasking", {}),
        ("/plans/diff", {"a": world.grc, "b": world.central}),
        ("/plans/diff", {"a": world.central, "b": world.grc}),
        ("/plans/no-such-plan/tasking.csv", {}),
    ]:
        r = world.get("mkd-analyst", path, **params)
        assert r.status_code == 404, (path, r.text)
        assert "no plan with id" in r.json()["error"]


def test_the_printable_page_has_one_section_per_unit_and_loads_only_its_own_stylesheet(
    world: World,
) -> None:
    r = world.get("planner", f"/plans/{world.central}/tasking")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    rows = _rows(world.get("planner", f"/plans/{world.central}/tasking.csv").text)
    units = [u for u in dict.fromkeys(row["unit_id"] for row in rows)]
    assert re.findall(r'<section class="unit" data-unit-id="([^"]+)"', page) == units
    plan = world.read("planner", world.central)
    assert world.central in page and "the operator" in page and "planner" in page
    assert all(p in page for p in plan["periods"])
    assert plan["created_at"].replace("T", " ")[:19] in page
    # one table per period in each unit's section
    assert page.count('<table class="period"') == len(units) * len(plan["periods"])
    # nothing from elsewhere: the one stylesheet is the service's, with the print rules
    assert re.findall(r'(?:href|src)="([^"]+)"', page) == ["/web/tasking.css"]
    css = world.client.get("/web/tasking.css")
    assert css.status_code == 200
    assert "@media print" in css.text and "break-before: page" in css.text


def test_the_diff_of_two_plans_lists_the_shifts_that_moved(world: World) -> None:
    a, b = world.read("planner", world.central), world.read("planner", world.cut)
    r = world.get("planner", "/plans/diff", a=world.central, b=world.cut)
    assert r.status_code == 200, r.text
    diff = r.json()
    assert not diff["empty"] and diff["a"] == world.central and diff["b"] == world.cut

    def shifts(plan: dict[str, Any]) -> dict[tuple[str, str, str], int]:
        return {(x["unit_id"], x["period"], x["region_id"]): x["shifts"]
                for x in plan["assignments"] if x["shifts"]}  # fmt: skip

    before, after = shifts(a), shifts(b)
    moved = {k: (before.get(k, 0), after.get(k, 0))
             for k in before.keys() | after.keys() if before.get(k, 0) != after.get(k, 0)}  # fmt: skip
    assert {(c["unit_id"], c["period"], c["region_id"]): (c["before"], c["after"])
            for c in diff["shifts"]} == moved  # fmt: skip
    # GRC-BP-01 went down to 3 shifts a period
    cut = [c for c in diff["shifts"] if c["unit_id"] == "GRC-BP-01"]
    assert cut and sum(c["after"] - c["before"] for c in cut) < 0
    assert all(c["region_name"] == world.names[c["region_id"]] for c in diff["shifts"])
    # the operator reads the figures of both
    assert not diff["figures_withheld"]
    if a["objective"] != b["objective"]:
        assert diff["figures"][0] == {"name": "objective", "before": a["objective"],
                                      "after": b["objective"]}  # fmt: skip
    assert "GRC-BP-01" in diff["summary"] and "→" in diff["summary"]


def test_a_plan_diffed_with_itself_is_empty_and_says_so(world: World) -> None:
    diff = world.get("planner", "/plans/diff", a=world.central, b=world.central).json()
    assert diff["empty"] and diff["shifts"] == diff["operations"] == diff["figures"] == []
    assert "No difference" in diff["summary"]


def test_a_partners_diff_holds_its_own_units_and_no_figures(world: World) -> None:
    diff = world.get("mkd-analyst", "/plans/diff", a=world.central, b=world.cut).json()
    countries = {u["unit_id"]: u["country"] for u in world.resources["units"]}
    assert {countries[c["unit_id"]] for c in diff["shifts"]} <= {"MKD"}
    assert diff["figures"] == [] and diff["figures_withheld"]
    assert "Figures not compared" in diff["summary"] or diff["empty"]


def test_the_command_line_writes_the_operators_tasking_and_diff(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the command reads the service's database (the fixture's environment)
    out, page = tmp_path / "t.csv", tmp_path / "t.html"
    assert main(["plans", "tasking", world.central, "--csv", str(out), "--html", str(page)]) == 0
    served = world.get("planner", f"/plans/{world.central}/tasking.csv").text
    assert out.read_text() == served
    html = page.read_text()
    assert "<style>" in html and "@media print" in html  # printable offline
    assert re.findall(r'data-unit-id="([^"]+)"', html) == list(
        dict.fromkeys(r["unit_id"] for r in _rows(served))
    )
    assert not re.findall(r'(?:href|src)="', html)
    capsys.readouterr()
    assert main(["plans", "tasking", world.central]) == 0
    assert capsys.readouterr().out == served

    assert (
        main(["plans", "diff", world.central, world.cut, "--json", str(tmp_path / "d.json")]) == 0
    )
    said = capsys.readouterr().out
    served_diff = world.get("planner", "/plans/diff", a=world.central, b=world.cut).json()
    assert said.strip() == served_diff["summary"]
    assert re.search(r"^  GRC-BP-01, \d{4}-\d\d-\d\d: r\d{3} \w+ \d+ → \d+", said, re.MULTILINE)
    assert json.loads((tmp_path / "d.json").read_text()) == served_diff

    assert main(["plans", "diff", world.central, world.central]) == 0
    assert "No difference" in capsys.readouterr().out

    assert main(["plans", "diff", world.central, "no-such-plan"]) == 2
    err = capsys.readouterr().err
    assert "no plan with id 'no-such-plan'" in err and "crossplan plans list" in err
    assert main(["plans", "tasking", "no-such-plan"]) == 2

    assert main(["plans", "list"]) == 0
    assert world.central in capsys.readouterr().out


def test_a_plan_just_made_writes_its_tasking(
    tiny_world_dir: Path, write_forecast: Any, tmp_path: Path
) -> None:
    forecast = write_forecast(tmp_path / "forecast.parquet")
    out, tasking = tmp_path / "plan.json", tmp_path / "tasking.csv"
    code = main(["plan", "--data", str(tiny_world_dir), "--forecast", str(forecast), "--horizon",
                 "2", "--json", str(out), "--tasking", str(tasking), "--quiet"])  # fmt: skip
    assert code == 0
    plan = json.loads(out.read_text())
    rows = _rows(tasking.read_text())
    assert [(r["unit_id"], r["period"], r["region_id"], int(r["shifts"])) for r in rows] == sorted(
        (a["unit_id"], a["period"], a["region_id"], a["shifts"])
        for a in plan["assignments"]
        if a["shifts"]
    )
    assert all(r["region_name"] and r["agency"] and r["country"] for r in rows)
