"""The sharing policy table of docs/design.md, tried as a partner agency would.

A world of three countries and a champion trained on it: MKD (country A) has an agreement
with GRC (B, a partner: the agreement covers r002 of GRC and r006 of MKD), none with ALB (C).
Every endpoint that answers from counts is asked by A's reporter, analyst and planner keys,
before and after changes A must not be able to see:

* C corrects one of its counts (a region A reads only as a country total);
* B corrects a small count in the agreement region r002 (A reads r002 region by region, but
  a small count of another agency is suppressed).

Nothing A receives may change, apart from published country totals (which cover at least k
regions and k non-zero cells), and nothing region-level of C ever reaches A.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database, next_period, utcnow
from crossplan.pipelines.simulate import last_full_week, simulate_world
from crossplan.serving.auth import KeyStore, Role, add_key
from tests.serving.conftest import _point_service_at, _sqlite

A, B, C = "MKD", "GRC", "ALB"
THREE = {"seed": 3, "countries": 3, "regions": 14, "periods": 60}
CATEGORY = "smuggling_of_migrants"
# Fields that name a moment or a version of the panel, not what it holds.
_MOMENTS = {
    "as_of", "fingerprint", "input_fingerprint", "plan_id", "created_at", "solve_seconds",
    "build_seconds", "total_seconds", "loaded_at", "newest_period", "last_period",
}  # fmt: skip


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("three")
    # Its history ends the week before last (tests below send the weeks after it), so that
    # the joint operation B proposes for next week is within the champion's horizon.
    end = last_full_week(date.today()) - timedelta(weeks=1)
    simulate_world(**THREE, end=end).write(out)
    return out


@pytest.fixture(scope="module")
def three_champion(three: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crossplan.pipelines.train import train

    store = tmp_path_factory.mktemp("three-mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CROSSPLAN_HOME", str(store))
        result = train(three, horizon=4, origins=2, refit_every=2, tracking_uri=_sqlite(store))
    assert result.decision.promote
    return store


@pytest.fixture(scope="module")
def world(
    asgi_app: Any, three: Path, three_champion: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str], pd.DataFrame, Path]]:
    """The service on the three-country world: a reporter, analyst and planner key for each
    country, an admin; the regions table and the world's directory."""
    home = tmp_path_factory.mktemp("home")
    shutil.copy(three_champion / "mlflow.db", home / "mlflow.db")
    db = Database.connect(f"sqlite:///{home / 'crossplan.db'}")
    keys = KeyStore(db)
    tokens = {"admin": add_key(keys, "admin", Role.ADMIN)}
    for country in (A, B, C):
        for role in (Role.REPORTER, Role.ANALYST, Role.PLANNER):
            name = f"{country.lower()}-{role.value}"
            tokens[name] = add_key(keys, name, role, country=country, agency="Border Police")
    # A key of a country the panel has no region of (a typo, or a country still to join);
    # its audience sorts first, so alerts are raised for it before anyone else.
    tokens["abw-planner"] = add_key(keys, "abw-planner", Role.PLANNER, country="ABW", agency="BP")
    db.dispose()
    env = {
        "CROSSPLAN_HOME": str(home),
        "CROSSPLAN_DATA": str(three),
        "MLFLOW_TRACKING_URI": _sqlite(home),
    }
    with pytest.MonkeyPatch.context() as mp:
        _point_service_at(env, mp)
        with TestClient(asgi_app) as client:
            _propose(client, tokens[f"{B.lower()}-planner"])
            geo = client.get("/regions", headers=bearer(tokens["admin"])).json()
            table = pd.DataFrame([f["properties"] for f in geo["features"]])
            yield client, tokens, table, three


def _propose(client: TestClient, token: str) -> None:
    """B proposes a joint operation to A in the agreement's regions, next week."""
    week = f"{next_period('weekly', utcnow()):%Y-%m-%d}"
    proposal = {"regions": ["r002", "r006"], "periods": [week],
                "needs": {A: {"shifts": 3}, B: {"shifts": 3}}, "effort_multiplier": 1.5}  # fmt: skip
    r = client.post("/operations", json=proposal, headers=bearer(token))
    assert r.status_code == 201, r.text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def regions_of(table: pd.DataFrame, country: str) -> set[str]:
    return set(table.loc[table["country"] == country, "region_id"])


def _plain(value: Any) -> Any:
    """``value`` without the fields that name a moment or a version."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in _MOMENTS}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def everything(client: TestClient, tokens: dict[str, str], country: str) -> dict[str, Any]:
    """Every answer derived from counts that the keys of ``country`` get, by endpoint."""
    low = country.lower()
    reporter, analyst, planner = (bearer(tokens[f"{low}-{r}"]) for r in
                                  ("reporter", "analyst", "planner"))  # fmt: skip
    out: dict[str, Any] = {}
    for role, headers in (("reporter", reporter), ("analyst", analyst), ("planner", planner)):
        out[f"{role} GET /me"] = client.get("/me", headers=headers)
        out[f"{role} GET /alerts"] = client.get("/alerts", headers=headers)
    for role, headers in (("analyst", analyst), ("planner", planner)):
        for path in ("/incidents", "/observed?periods=520", "/resources", "/model", "/plans"):
            out[f"{role} GET {path}"] = client.get(path, headers=headers)
    out["planner POST /forecast"] = client.post("/forecast", json={"horizon": 4}, headers=planner)
    plan = client.post("/plan", json={"horizon": 2, "time_limit_s": 30}, headers=planner)
    out["planner POST /plan"] = plan
    plan_id = plan.json()["plan_id"]
    out["analyst GET /plans/{id}"] = client.get(f"/plans/{plan_id}", headers=analyst)
    # what pledging to an open operation is worth to A: computed on A's view
    for op in client.get("/operations?status=open", headers=analyst).json()["operations"]:
        path = f"/operations/{op['operation_id']}/value"
        out[f"planner GET {path}"] = client.get(path, headers=planner)
    out["analyst GET /plans/{id}/geojson"] = client.get(
        f"/plans/{plan_id}/geojson", headers=analyst
    )
    answers = {}
    for name, response in out.items():
        assert response.status_code == 200, (name, response.text)
        answers[name] = response.json()
    return answers


def _numbers_of(value: Any, regions: set[str], found: list[str], where: str = "") -> None:
    """Collect the places where a row of one of ``regions`` carries a number."""
    if isinstance(value, dict):
        rid = value.get("region_id") or (value.get("properties") or {}).get("region_id")
        if rid in regions:
            props = value.get("properties", value)
            figures = {k: v for k, v in props.items()
                       if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
            if figures:
                found.append(f"{where}: {rid} {figures}")
        for k, v in value.items():
            _numbers_of(v, regions, found, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _numbers_of(v, regions, found, f"{where}[{i}]")


def _correct(client: TestClient, token: str, cell: dict[str, Any]) -> None:
    r = client.post("/submissions", json={"rows": [cell]}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["corrected"] == 1, r.json()


def _cells(world_dir: Path, region: str) -> pd.DataFrame:
    """The world's cells of ``region`` in :data:`CATEGORY`, with their covariates (a
    correction sends them unchanged: covariates are read by all)."""
    frame = pd.read_parquet(world_dir / "incidents.parquet")
    frame = frame[(frame["region_id"] == region) & (frame["category"] == CATEGORY)]
    frame = frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d"))
    frame["count"] = frame["reported"] + frame["detected"]
    return frame.sort_values("period")


def _row(cell: pd.Series, **changes: int) -> dict[str, Any]:
    row = {k: (v.item() if hasattr(v, "item") else v) for k, v in cell.items() if k != "count"}
    return {**row, **changes}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        name: (before[name], after[name])
        for name in before
        if _plain(before[name]) != _plain(after[name])
    }


def test_nothing_region_level_of_a_non_partner_reaches_a_country(world: Any) -> None:
    client, tokens, table, _ = world
    answers = everything(client, tokens, A)
    found: list[str] = []
    for name, answer in answers.items():
        _numbers_of(answer, regions_of(table, C), found, name)
    assert found == []
    # and the partner's regions outside the agreement neither
    outside = regions_of(table, B) - {"r002"}
    found = []
    for name, answer in answers.items():
        _numbers_of(answer, outside, found, name)
    assert found == []
    # A reads its own regions and the agreement's region by region
    shown = set(answers["analyst GET /me"]["region_level"])
    assert shown == regions_of(table, A) | {"r002"}
    forecast = {r["region_id"] for r in answers["planner POST /forecast"]["forecasts"]}
    assert forecast == shown


def test_no_answer_moves_when_a_count_a_may_not_read_changes(world: Any) -> None:
    """Non-interference: C's counts and B's small counts are invisible to A, in every
    answer, forecasts and plans included (a forecast is a function of its inputs, so a
    published forecast of a region could be inverted back to a suppressed count)."""
    client, tokens, table, world_dir = world
    before = everything(client, tokens, A)
    (value,) = [v for name, v in before.items() if name.endswith("/value")]
    assert value["country"] == A and value["need"]  # a figure of A's view, asked by A

    # C changes a count in one of its regions, far from A (a forecast input of C's region).
    c_region = sorted(regions_of(table, C))[0]
    last = _cells(world_dir, c_region).iloc[-1]
    _correct(client, tokens[f"{C.lower()}-reporter"],
             _row(last, reported=int(last["reported"]) + 1))  # fmt: skip
    # B changes a small count (1 <-> 2) in the agreement region A reads region by region:
    # one part is 0 (shown as 0 before and after), the other small.
    b_cells = _cells(world_dir, "r002")
    one_part = (b_cells["reported"] == 0) | (b_cells["detected"] == 0)
    small = b_cells[b_cells["count"].isin([1, 2]) & one_part].iloc[-1]
    flipped = {n: (3 - int(small[n]) if small[n] else 0) for n in ("reported", "detected")}
    _correct(client, tokens[f"{B.lower()}-reporter"], _row(small, **flipped))
    after = everything(client, tokens, A)
    changed = _diff(before, after)
    # Only the country totals A reads may move, and only C's total of that period.
    for name in list(changed):
        if name.endswith("GET /incidents"):
            # (who sent a cell is provenance everyone reads, not a count)
            old, new = (pd.DataFrame(x["rows"]).drop(columns="agency") for x in changed.pop(name))
            moved = old.compare(new)
            rows = old.loc[moved.index]
            assert (rows["level"] == "country").all() and (rows["country"] == C).all(), rows
            assert set(rows["period"]) == {last["period"]}
        if name.endswith("GET /plans"):  # the plan list holds A's own new plans
            old, new = changed.pop(name)
            assert new["plans"][len(new["plans"]) - len(old["plans"]) :] == old["plans"]
    assert changed == {}


def test_a_published_total_never_equals_one_region(world: Any) -> None:
    client, tokens, table, _ = world
    # One cell of B's for a new week: its total over the regions A reads as totals would be
    # that cell exactly. (Before the panel's first week, so the panel still ends where it did:
    # a backfill, which takes an administrator's key.)
    week = "2022-12-26"
    region = sorted(regions_of(table, B) - {"r002"})[0]
    r = client.post(
        "/submissions",
        json={
            "rows": [
                {
                    "region_id": region,
                    "period": week,
                    "category": CATEGORY,
                    "reported": 7,
                    "detected": 5,
                    "effort": 1.0,
                }
            ]
        },
        headers=bearer(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    rows = client.get("/incidents", params={"start": week, "end": week},
                      headers=bearer(tokens[f"{A.lower()}-analyst"])).json()["rows"]  # fmt: skip
    (total,) = [row for row in rows if row["country"] == B]
    assert total["suppressed"] and total["count"] is None
    # The operator reads it.
    rows = client.get("/incidents", params={"start": week, "end": week},
                      headers=bearer(tokens["admin"]))  # fmt: skip
    assert 12 in {row["count"] for row in rows.json()["rows"]}


def test_a_country_reads_only_the_plans_it_is_party_to(world: Any) -> None:
    client, tokens, _, _ = world
    # C plans its own units only: a plan of C's alone.
    resources = client.get("/resources", headers=bearer(tokens[f"{C.lower()}-planner"])).json()
    assert {u["country"] for u in resources["units"]} == {C}
    assert all(C in a["countries"] for a in resources["agreements"])
    mine = copy.deepcopy(resources)
    mine["joint_operations"] = []
    r = client.post(
        "/plan",
        json={"horizon": 1, "time_limit_s": 20, "resources": mine},
        headers=bearer(tokens[f"{C.lower()}-planner"]),
    )
    assert r.status_code == 200, r.text
    plan_id = r.json()["plan_id"]
    a_analyst = bearer(tokens[f"{A.lower()}-analyst"])
    for path in (f"/plans/{plan_id}", f"/plans/{plan_id}/geojson"):
        assert client.get(path, headers=a_analyst).status_code == 404
    listed = client.get("/plans", headers=a_analyst).json()["plans"]
    assert plan_id not in {p["plan_id"] for p in listed}
    # C's own analyst reads it, the operator too
    assert client.get(
        f"/plans/{plan_id}", headers=bearer(tokens[f"{C.lower()}-analyst"])
    ).is_success
    assert client.get(f"/plans/{plan_id}", headers=bearer(tokens["admin"])).is_success


def test_a_forecast_of_a_region_a_key_does_not_read_is_refused(world: Any) -> None:
    client, tokens, table, _ = world
    c_region = sorted(regions_of(table, C))[0]
    r = client.post(
        "/forecast",
        json={"horizon": 1, "regions": [c_region]},
        headers=bearer(tokens[f"{A.lower()}-planner"]),
    )
    assert r.status_code == 400
    assert r.json()["problems"][0]["field"] == "regions[0]"


def test_observed_suppresses_small_counts_of_other_agencies(world: Any) -> None:
    client, tokens, table, _ = world
    rows = client.get("/observed", params={"periods": 520},
                      headers=bearer(tokens[f"{A.lower()}-analyst"])).json()["rows"]  # fmt: skip
    exact = client.get("/observed", params={"periods": 520},
                       headers=bearer(tokens["admin"])).json()["rows"]  # fmt: skip
    small = {(r["region_id"], r["category"], r["period"]) for r in exact
             if r["region_id"] == "r002" and 0 < r["observed"] < 3}  # fmt: skip
    assert small, "the world should have small counts in r002"
    seen = {(r["region_id"], r["category"], r["period"]): r for r in rows}
    for key in small:
        assert seen[key]["suppressed"] and seen[key]["observed"] is None
    assert not regions_of(table, C) & {r["region_id"] for r in rows}


def test_no_alert_tells_a_partner_a_small_count_it_may_not_read(world: Any) -> None:
    """An alert on a small count of a partner would carry the count, or say how it compares
    with a threshold the reader knows: the partner gets none; the agency that sent it, and
    the operator, do. (Here A sends a count in r006, its region of the agreement, which B
    reads region by region.)"""
    client, tokens, _, _ = world
    # The week after the panel's last, in a region where every view expects far below 2.
    card = client.get("/model", headers=bearer(tokens["admin"])).json()
    week = f"{pd.Timestamp(card['data']['last_period']) + pd.Timedelta(weeks=1):%Y-%m-%d}"
    rows = [{"region_id": "r006", "period": week, "category": CATEGORY,
             "reported": 2, "detected": 0, "effort": 0.0}]  # fmt: skip
    r = client.post("/submissions", json={"rows": rows},
                    headers=bearer(tokens[f"{A.lower()}-reporter"]))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["alerts"] >= 1  # the sender's own

    def alerts(token: str) -> list[dict[str, Any]]:
        answer = client.get("/alerts", headers=bearer(token))
        assert answer.status_code == 200, answer.text
        return [a for a in answer.json()["alerts"]
                if a["region_id"] == "r006" and a["kind"] == "observed_above_q90"]  # fmt: skip

    assert alerts(tokens[f"{B.lower()}-analyst"]) == []
    assert alerts(tokens[f"{B.lower()}-reporter"]) == []
    assert [a["value"] for a in alerts(tokens[f"{A.lower()}-analyst"])] == [2]
    assert [a["value"] for a in alerts(tokens["admin"])] == [2]


@pytest.mark.parametrize(
    "start",
    [
        "2024-01-01T00:00:00+02:00",  # a time-zone offset: which day is meant is unclear
        "2024-13-01",  # no such month
    ],
)
def test_a_bad_date_filter_is_a_located_400(world: Any, start: str) -> None:
    client, tokens, _, _ = world
    r = client.get("/incidents", params={"start": start},
                   headers=bearer(tokens[f"{A.lower()}-analyst"]))  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.json()["problems"][0]["field"] == "start"


def test_a_plan_another_agency_made_shows_its_decisions_not_its_figures(world: Any) -> None:
    """A plan's figures are made from counts only its requester's agency may read: a partner
    party to the plan reads where shifts go in its own regions, with its own units and joint
    operations, and no figure. (Only the operator's plan gives A's units shifts: a plan of
    B's planner assigns B's units alone, involves A in nothing and is not A's to read.)"""
    client, tokens, table, _ = world
    a_units = {u["unit_id"] for u in client.get(
        "/resources", headers=bearer(tokens[f"{A.lower()}-analyst"])).json()["units"]}  # fmt: skip
    theirs = client.post(
        "/plan", json={"horizon": 1}, headers=bearer(tokens[f"{B.lower()}-planner"])
    )
    assert client.get(f"/plans/{theirs.json()['plan_id']}",
                      headers=bearer(tokens[f"{A.lower()}-analyst"])).status_code == 404  # fmt: skip
    made = client.post("/plan", json={"horizon": 1}, headers=bearer(tokens["admin"]))
    assert made.status_code == 200, made.text
    plan = client.get(f"/plans/{made.json()['plan_id']}",
                      headers=bearer(tokens[f"{A.lower()}-analyst"])).json()  # fmt: skip
    assert plan["regions"], "A is party to the plan: it reads its regions"
    for row in plan["regions"]:
        assert row["expected_activity"] is None and row["expected_interdictions"] is None
        assert row["marginal_value"] is None and row["shifts"] >= 0
    assert plan["objective"] is None and set(plan["baselines"].values()) == {None}
    assert {a["unit_id"] for a in plan["assignments"]} <= a_units
    assert all(A in s["commitments"] for j in plan["joint_operations"] for s in j["periods"])
    hidden = (regions_of(table, B) | regions_of(table, C)) - {"r002"}
    assert not [n for n in plan["binding_constraints"]
                if any(f"[{r}," in n or f",{r}]" in n for r in hidden)]  # fmt: skip
    listed = client.get("/plans", headers=bearer(tokens[f"{A.lower()}-analyst"])).json()
    (item,) = [p for p in listed["plans"] if p["plan_id"] == made.json()["plan_id"]]
    assert item["objective"] is None
    # the agency that made a plan reads its figures
    own = client.post("/plan", json={"horizon": 1}, headers=bearer(tokens[f"{A.lower()}-planner"]))
    mine = client.get(f"/plans/{own.json()['plan_id']}",
                      headers=bearer(tokens[f"{A.lower()}-analyst"])).json()  # fmt: skip
    assert mine["objective"] is not None
    assert all(r["expected_activity"] is not None for r in mine["regions"])
    assert {a["unit_id"] for a in mine["assignments"]} <= a_units


def test_an_infeasible_plan_shows_a_partner_no_diagnosis(world: Any) -> None:
    """The diagnosis names regions, joint operations and shift totals of the request's
    resources, units sent only in it included: it is the requester's alone. An infeasible
    plan gives no unit a shift and launches no joint operation, so it involves no partner,
    even one whose unit the request names: a partner does not read it at all."""
    client, tokens, _, _ = world
    b_planner = bearer(tokens[f"{B.lower()}-planner"])
    resources = client.get("/resources", headers=b_planner).json()
    secret = {**resources["units"][0], "unit_id": "GRC-SECRET-01", "shifts_per_period": 7}
    mkd = {**resources["units"][0], "unit_id": "MKD-LENT-01", "country": A, "home_region": "r001",
           "regions": None}  # fmt: skip
    resources["units"] += [secret, mkd]
    resources["policy"]["min_shifts_per_region"] = 40  # more than all units have
    r = client.post("/plan", json={"horizon": 1, "resources": resources}, headers=b_planner)
    assert r.status_code == 422, r.text
    assert r.json()["diagnosis"], "the requester reads its diagnosis"
    a_analyst = bearer(tokens[f"{A.lower()}-analyst"])
    assert client.get(f"/plans/{r.json()['plan_id']}", headers=a_analyst).status_code == 404
    assert "GRC-SECRET-01" not in client.get("/plans", headers=a_analyst).text


def test_every_published_total_is_made_of_at_least_k_cells(world: Any) -> None:
    """Each column of each country total A reads (reported, detected, count) sums at least
    k = 3 non-zero cells of the regions it reads only as totals, so no total is one region's."""
    client, tokens, _, _ = world
    shown = set(client.get("/me", headers=bearer(tokens[f"{A.lower()}-analyst"])).json()
                ["region_level"])  # fmt: skip
    totals = pd.DataFrame(client.get("/incidents", headers=bearer(tokens[f"{A.lower()}-analyst"]))
                          .json()["rows"]).query("level == 'country'")  # fmt: skip
    cells = pd.DataFrame(client.get("/incidents", headers=bearer(tokens["admin"])).json()["rows"])
    cells = cells[(cells["level"] == "region") & ~cells["region_id"].isin(shown)]
    parts = cells.groupby(["country", "period", "category"])[["reported", "detected", "count"]]
    nonzero = parts.agg(lambda s: int((s > 0).sum()))
    checked = 0
    for row in totals.to_dict("records"):
        key = (row["country"], row["period"], row["category"])
        for column in ("reported", "detected", "count"):
            if row[column] is not None and row[column] == row[column] and row[column] > 0:
                assert nonzero.loc[key, column] >= 3, (key, column, row[column])
                checked += 1
    assert checked > 100  # the rule was tried on many published totals


def test_a_forecast_says_the_periods_it_forecasts(world: Any) -> None:
    """When only a country A reads as totals sent a newer week, A's view ends a week before
    the panel: its forecast, and what the forecast says of its data, start where its view
    ends."""
    client, tokens, table, _ = world
    card = client.get("/model", headers=bearer(tokens["admin"])).json()
    week = f"{pd.Timestamp(card['data']['last_period']) + pd.Timedelta(weeks=1):%Y-%m-%d}"
    region = sorted(regions_of(table, C))[0]
    r = client.post("/submissions", json={"rows": [{"region_id": region, "period": week,
                    "category": CATEGORY, "reported": 5, "detected": 5, "effort": 1.0}]},
                    headers=bearer(tokens[f"{C.lower()}-reporter"]))  # fmt: skip
    assert r.status_code == 200, r.text
    for key in (f"{A.lower()}-planner", "admin"):
        answer = client.post("/forecast", json={"horizon": 1}, headers=bearer(tokens[key])).json()
        first = min(row["period"] for row in answer["forecasts"])
        assert answer["data"]["first_planned_period"] == first, key


def test_a_key_of_a_country_without_rows_gets_a_400_and_stops_no_alert(world: Any) -> None:
    """A key whose country has no rows in the panel has nothing to forecast or plan from: it
    is told so (not a 500), and its empty view stops no other agency's alerts (the alert test
    above raises them with this key present)."""
    client, tokens, _, _ = world
    abw = bearer(tokens["abw-planner"])
    for path, body in (("/forecast", {"horizon": 1}), ("/plan", {"horizon": 1})):
        r = client.post(path, json=body, headers=abw)
        assert r.status_code == 400, (path, r.text)
        assert "no rows in the shared panel" in r.json()["problems"][0]["message"]
    assert client.get("/alerts", headers=abw).json()["alerts"] == []
