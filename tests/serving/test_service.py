"""The service through its ASGI app in process: forecasts, plans, the audit trail, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pipelines.contract import Dataset
from serving import schemas as schemas_module
from serving.schemas import MAX_BODY_BYTES


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_forecast_covers_every_region_category_and_period(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, keys = shared
    r = client.post("/forecast", json={"horizon": 3}, headers=bearer(keys["planner"]))
    assert r.status_code == 200
    body = r.json()
    assert body["model"]["name"] == "forecast-file"
    rows = body["forecasts"]
    n_regions, n_categories = len(tiny_dataset.regions), len(tiny_dataset.categories)
    assert len(rows) == n_regions * n_categories * 3
    assert len({row["period"] for row in rows}) == 3
    for row in rows:
        assert 0 <= row["activity_q10"] <= row["activity_q50"] <= row["activity_q90"]


def test_forecast_of_chosen_regions_and_categories(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, keys = shared
    regions = list(tiny_dataset.regions["region_id"][:2])
    category = tiny_dataset.categories[0]
    r = client.post(
        "/forecast",
        json={"regions": regions, "categories": [category], "horizon": 2},
        headers=bearer(keys["admin"]),
    )
    assert r.status_code == 200
    rows = r.json()["forecasts"]
    assert {(row["region_id"], row["category"]) for row in rows} == {(g, category) for g in regions}
    assert len(rows) == 4


def test_a_plan_is_stored_with_its_requester_and_served_back(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, keys = shared
    r = client.post("/plan", json={"horizon": 1}, headers=bearer(keys["planner"]))
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["status"] in ("optimal", "feasible", "time_limit")
    assert plan["objective"] > 0
    assert len(plan["input_fingerprint"]) == 64
    assert plan["model"]["name"] == "forecast-file"
    assert {a["region_id"] for a in plan["assignments"]} <= set(tiny_dataset.regions["region_id"])

    analyst = bearer(keys["analyst"])
    listed = client.get("/plans", headers=analyst).json()["plans"]
    mine = next(p for p in listed if p["plan_id"] == plan["plan_id"])
    assert mine["requester"] == "planner"
    assert mine["objective"] == pytest.approx(plan["objective"])
    assert client.get(f"/plans/{plan['plan_id']}", headers=analyst).json() == plan

    g = client.get(f"/plans/{plan['plan_id']}/geojson", headers=analyst)
    assert g.status_code == 200
    assert g.headers["content-type"].startswith("application/geo+json")
    collection = g.json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == len(tiny_dataset.regions)
    period = plan["periods"][0]
    effort = {f["id"]: f["properties"][f"effort_{period}"] for f in collection["features"]}
    assert effort == {row["region_id"]: row["effort"] for row in plan["regions"]}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in collection["features"])


def test_the_same_inputs_give_the_same_fingerprint(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, keys = shared
    resources = copy.deepcopy(tiny_dataset.resources)
    body = {"horizon": 1, "resources": resources, "solver": "highs"}
    a = client.post("/plan", json=body, headers=bearer(keys["planner"])).json()
    b = client.post("/plan", json=body, headers=bearer(keys["admin"])).json()
    assert a["plan_id"] != b["plan_id"]
    assert a["input_fingerprint"] == b["input_fingerprint"]
    assert a["solver"] == "highs"


def test_an_infeasible_plan_gets_422_with_the_diagnosis_and_is_stored(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, keys = shared
    resources: dict[str, Any] = copy.deepcopy(tiny_dataset.resources)  # type: ignore[assignment]
    resources["policy"]["min_shifts_per_region"] = 10_000  # floors above every capacity
    r = client.post(
        "/plan", json={"horizon": 1, "resources": resources}, headers=bearer(keys["planner"])
    )
    assert r.status_code == 422
    body = r.json()
    assert body["diagnosis"]
    assert any("floor" in f["constraint"] for f in body["diagnosis"])
    stored = client.get(f"/plans/{body['plan_id']}", headers=bearer(keys["analyst"])).json()
    assert stored["status"] == "infeasible"


_PLANNER = "planner"
_ROUTES = [
    ("POST", "/forecast", {"horizon": 1}),
    ("POST", "/plan", {"horizon": 1}),
    ("GET", "/plans", None),
    ("GET", "/plans/0123", None),
    ("GET", "/plans/0123/geojson", None),
    ("GET", "/model", None),
    ("POST", "/admin/reload", None),
]


@pytest.mark.parametrize(("method", "path", "body"), _ROUTES)
@pytest.mark.parametrize(
    "header",
    [
        None,  # no Authorization header
        "Bearer cpk_wrong",  # a key nobody holds
        "Bearer ",  # the scheme without a key
        "Basic dXNlcjpwYXNz",  # another scheme
    ],
)
def test_every_endpoint_needs_a_valid_key(
    shared: tuple[TestClient, dict[str, str]],
    method: str,
    path: str,
    body: Any,
    header: str | None,
) -> None:
    client, _ = shared
    headers = {} if header is None else {"Authorization": header}
    r = client.request(method, path, json=body, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "key" in r.json()["error"]


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("analyst", "POST", "/forecast", {"horizon": 1}),  # analysts only read
        ("analyst", "POST", "/plan", {"horizon": 1}),
        ("analyst", "POST", "/admin/reload", None),
        ("planner", "POST", "/admin/reload", None),  # reloading is for admins
    ],
)
def test_a_role_may_not_go_beyond_its_rights(
    shared: tuple[TestClient, dict[str, str]], role: str, method: str, path: str, body: Any
) -> None:
    client, keys = shared
    r = client.request(method, path, json=body, headers=bearer(keys[role]))
    assert r.status_code == 403
    assert f"'{role}'" in r.json()["error"]


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz", "/metrics"])
def test_health_and_metrics_need_no_key(
    shared: tuple[TestClient, dict[str, str]], path: str
) -> None:
    client, _ = shared
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/forecast", {"horizon": 0}, ["horizon"]),  # below 1
        ("/forecast", {"horizon": 13}, ["horizon"]),  # beyond 12
        ("/forecast", {"horizon": "four"}, ["horizon"]),  # not a number
        ("/forecast", {"horizn": 4}, ["horizn"]),  # misspelt field
        ("/forecast", {"regions": "r001"}, ["regions"]),  # not a list
        ("/forecast", {"regions": ["nowhere"]}, ["regions[0]"]),  # unknown region
        ("/forecast", {"categories": ["arson"]}, ["categories[0]"]),  # unknown category
        ("/plan", {"solver": "gurobi"}, ["solver"]),  # not offered
        ("/plan", {"time_limit_s": -1}, ["time_limit_s"]),
        ("/plan", {"resources": {"units": []}}, ["resources.units"]),  # no units
        ("/plan", {"horizon": 0, "solver": "x", "extra": 1}, ["horizon", "solver", "extra"]),
    ],
)
def test_a_bad_body_gets_400_naming_every_field(
    shared: tuple[TestClient, dict[str, str]], path: str, body: Any, fields: list[str]
) -> None:
    client, keys = shared
    r = client.post(path, json=body, headers=bearer(keys["planner"]))
    assert r.status_code == 400
    problems = r.json()["problems"]
    assert sorted(p["field"] for p in problems) == sorted(fields)
    assert all(p["message"] and p["fix"] for p in problems)


def test_resources_and_forecast_rows_are_checked_against_the_panel(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, keys = shared
    resources: dict[str, Any] = copy.deepcopy(tiny_dataset.resources)  # type: ignore[assignment]
    resources["units"][0]["home_region"] = "nowhere"
    row = {
        "region_id": "atlantis",
        "category": tiny_dataset.categories[0],
        "period": "2030-01-07",
        "activity_mean": 1.0,
        "activity_q10": 0.5,
        "activity_q50": 1.0,
        "activity_q90": -2.0,
        "detection_rate": 0.1,
    }
    r = client.post(
        "/plan", json={"resources": resources, "forecast": [row]}, headers=bearer(keys["planner"])
    )
    assert r.status_code == 400
    assert [p["field"] for p in r.json()["problems"]] == ["forecast[0].activity_q90"]
    row["activity_q90"] = 2.0
    r = client.post(
        "/plan", json={"resources": resources, "forecast": [row]}, headers=bearer(keys["planner"])
    )
    assert r.status_code == 400
    assert [p["field"] for p in r.json()["problems"]] == ["resources.units[0].home_region"]
    r = client.post(
        "/plan",
        json={"resources": tiny_dataset.resources, "forecast": [row]},
        headers=bearer(keys["planner"]),
    )
    assert [p["field"] for p in r.json()["problems"]] == ["forecast[0].region_id"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{", 400),  # not JSON
        (b"[1, 2]", 400),  # JSON, not an object
        (b" " * (MAX_BODY_BYTES + 1), 413),  # too large
    ],
)
def test_malformed_bodies_never_reach_the_model(
    shared: tuple[TestClient, dict[str, str]], content: bytes, status: int
) -> None:
    client, keys = shared
    headers = {**bearer(keys["planner"]), "Content-Type": "application/json"}
    r = client.post("/forecast", content=content, headers=headers)
    assert r.status_code == status
    assert r.json()["error"]


def test_an_unknown_plan_is_404(shared: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = shared
    for path in ("/plans/does-not-exist", "/plans/does-not-exist/geojson"):
        r = client.get(path, headers=bearer(keys["analyst"]))
        assert r.status_code == 404
        assert "does-not-exist" in r.json()["error"]


def test_the_openapi_page_documents_every_endpoint_and_field(
    shared: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = shared
    spec = client.get("/docs.json").json()
    for path in (
        "/forecast",
        "/plan",
        "/plans",
        "/plans/{plan_id}",
        "/plans/{plan_id}/geojson",
        "/model",
        "/admin/reload",
    ):
        assert path in spec["paths"]
    ours = {name for name in schemas_module.__all__ if name[0].isupper()}
    documented = {k: v for k, v in spec["components"]["schemas"].items() if k in ours}
    assert {"ForecastRequest", "PlanRequest", "PlanResponse", "ErrorBody", "ModelCard"} <= set(
        documented
    )
    undocumented = [
        f"{name}.{field}"
        for name, schema in documented.items()
        for field, prop in schema.get("properties", {}).items()
        if "description" not in prop
    ]
    assert undocumented == []


def test_keys_never_reach_the_plan_store(
    client: TestClient, served: dict[str, str], tmp_path: Path
) -> None:
    r = client.post("/plan", json={"horizon": 1}, headers=bearer(served["planner"]))
    assert r.status_code == 200
    stored = b"".join(p.read_bytes() for p in (tmp_path / "home").glob("plans.db*"))
    assert r.json()["plan_id"].encode() in stored
    assert all(token.encode() not in stored for token in served.values())


def test_reload_switches_to_the_new_model_without_a_restart(
    asgi_app: Any,
    served: dict[str, str],
    write_forecast: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    served_file = write_forecast(tmp_path / "served.parquet", 2.0)
    monkeypatch.setenv("CROSSPLAN_FORECAST_FILE", str(served_file))
    admin = bearer(served["admin"])
    with TestClient(asgi_app) as client:
        before = client.get("/model", headers=admin).json()
        write_forecast(served_file, 3.0)  # a newer model takes the served one's place
        assert client.get("/model", headers=admin).json()["version"] == before["version"]
        r = client.post("/admin/reload", headers=admin)
        assert r.status_code == 200
        assert r.json()["previous_version"] == before["version"]
        after = client.get("/model", headers=admin).json()
        assert after["version"] != before["version"]
        forecast = client.post("/forecast", json={"horizon": 1}, headers=admin).json()
        assert forecast["model"]["version"] == after["version"]
        metrics = client.get("/metrics").text
    labels = f'name="forecast-file",source="forecast file",version="{after["version"]}"'
    assert f'crossplan_model_info{{degraded="false",{labels}}} 1.0' in metrics


def test_without_any_model_the_service_is_up_but_not_ready(
    asgi_app: Any, service_home: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, keys = service_home(tmp_path / "home", None)
    point = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'empty.db'}"}
    for name, value in point.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CROSSPLAN_FORECAST_FILE", raising=False)
    import bentoml

    for copy_ in bentoml.models.list():
        bentoml.models.delete(copy_.tag)
    with TestClient(asgi_app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        card = client.get("/model", headers=bearer(keys["analyst"])).json()
        assert card["loaded"] is False
        assert "no local copy" in card["reason"]
        r = client.post("/forecast", json={"horizon": 1}, headers=bearer(keys["planner"]))
        assert r.status_code == 503
        assert "crossplan train" in r.json()["error"]
        assert json.loads(r.text)["problems"] == []


def test_with_mlflow_unreachable_the_local_copy_serves_degraded(
    asgi_app: Any,
    service_home: Any,
    forecast_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bentoml

    from serving import modelstore
    from serving.forecasts import ForecastFile

    for copy_ in bentoml.models.list():
        bentoml.models.delete(copy_.tag)
    kept = ForecastFile(forecast_file)  # stands in for the champion copied at an earlier start
    modelstore.save_copy(kept, {"name": "crossplan-risk", "version": "5", "trained_at": None})
    env, keys = service_home(tmp_path / "home", None)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CROSSPLAN_FORECAST_FILE", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    with TestClient(asgi_app) as client:
        assert client.get("/readyz").status_code == 200
        card = client.get("/model", headers=bearer(keys["analyst"])).json()
        assert card["degraded"] is True
        assert card["source"] == "local copy"
        assert card["version"] == "5"
        assert "local copy of version 5" in card["reason"]
        r = client.post("/forecast", json={"horizon": 2}, headers=bearer(keys["planner"]))
        assert r.status_code == 200
        assert r.json()["model"]["version"] == "5"
