"""The service through its ASGI app in process: forecasts, plans, the audit trail, errors.

Model loading, reloading and degraded starts are in ``test_snapshot.py``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from crossplan.pipelines.contract import Dataset
from crossplan.serving import schemas as schemas_module
from crossplan.serving.schemas import MAX_BODY_BYTES


def _resources_doc(dataset: Dataset) -> dict[str, Any]:
    """The served data directory's resources as a JSON document."""
    assert dataset.resources is not None
    return dataset.resources.model_dump(mode="json")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_forecast_covers_every_region_category_and_period(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset
) -> None:
    client, keys = shared
    r = client.post("/forecast", json={"horizon": 3}, headers=bearer(keys["planner"]))
    assert r.status_code == 200
    body = r.json()
    assert body["model"]["name"] == "crossplan-risk"
    assert body["model"]["version"] == "1"
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
    assert (plan["model"]["name"], plan["model"]["version"]) == ("crossplan-risk", "1")
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
    resources = _resources_doc(tiny_dataset)
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
    resources: dict[str, Any] = _resources_doc(tiny_dataset)
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


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
def test_health_needs_no_key(shared: tuple[TestClient, dict[str, str]], path: str) -> None:
    client, _ = shared
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 401),  # no key
        ("analyst", 403),
        ("planner", 403),
        ("admin", 200),  # only admins read the metrics
    ],
)
def test_metrics_are_for_admins(
    shared: tuple[TestClient, dict[str, str]], role: str | None, status: int
) -> None:
    client, tokens = shared
    headers = {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
    assert client.get("/metrics", headers=headers).status_code == status


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
    resources: dict[str, Any] = _resources_doc(tiny_dataset)
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
    assert [p["field"] for p in r.json()["problems"]] == [  # every problem at once
        "forecast[0].region_id",
        "forecast[0].activity_q90",
        "resources.units[0].home_region",
    ]
    row["activity_q90"] = 2.0
    r = client.post(
        "/plan", json={"resources": resources, "forecast": [row]}, headers=bearer(keys["planner"])
    )
    assert r.status_code == 400
    assert [p["field"] for p in r.json()["problems"]] == [
        "forecast[0].region_id",
        "resources.units[0].home_region",
    ]
    r = client.post(
        "/plan",
        json={"resources": _resources_doc(tiny_dataset), "forecast": [row]},
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


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [path, *(p for k, v in doc.items() for p in _leaves(v, (*path, k)))]
    if isinstance(doc, list):
        return [path, *(p for i, v in enumerate(doc) for p in _leaves(v, (*path, i)))]
    return [path]


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_no_body_makes_the_service_fail(
    shared: tuple[TestClient, dict[str, str]], tiny_dataset: Dataset, data: st.DataObject
) -> None:
    client, keys = shared
    valid = {"horizon": 1, "resources": _resources_doc(tiny_dataset), "solver": "cbc"}
    path = data.draw(st.sampled_from(_leaves(valid)), label="replaced")
    body = _replace(valid, path, data.draw(_JSON, label="value"))
    endpoint = data.draw(st.sampled_from(["/plan", "/forecast"]), label="endpoint")
    r = client.post(
        endpoint,
        content=json.dumps(body).encode(),  # NaN and Infinity travel as JSON extensions
        headers={**bearer(keys["admin"]), "Content-Type": "application/json"},
    )
    assert r.status_code in (200, 400, 422), r.text


def test_the_cli_and_the_api_give_the_same_fingerprint_for_the_same_request(
    shared: tuple[TestClient, dict[str, str]], write_forecast: Any, tmp_path: Path
) -> None:
    # The shared service serves the tiny world with the champion; the CLI reads the same
    # database and MLflow store from the environment the service was started with.
    from crossplan.serving.cli import main

    client, keys = shared
    rows = pd.read_parquet(write_forecast(tmp_path / "stand-in.parquet", 2.0))
    rows = rows[rows["period"] == rows["period"].min()]
    rows["period"] = rows["period"].dt.strftime("%Y-%m-%d")
    rows.to_csv(tmp_path / "override.csv", index=False)
    cases = {
        # the champion's forecast, the data directory's resources
        "champion": ({"horizon": 2, "time_limit_s": 20}, ["--horizon", "2", "--time-limit", "20"]),
        # an override: body rows for the API, a CSV file for the CLI
        "override": (
            {"horizon": 1, "time_limit_s": 20, "forecast": rows.to_dict("records")},
            ["--horizon", "1", "--time-limit", "20", "--forecast", str(tmp_path / "override.csv")],
        ),
    }
    fingerprints = {}
    for name, (body, flags) in cases.items():
        api = client.post("/plan", json=body, headers=bearer(keys["planner"]))
        assert api.status_code == 200, api.text
        out = tmp_path / f"{name}.json"
        assert main(["plan", "--database", *flags, "--json", str(out), "--quiet"]) == 0
        cli = json.loads(out.read_text())
        assert cli["input_fingerprint"] == api.json()["input_fingerprint"], name
        assert cli["model"] == api.json()["model"]
        fingerprints[name] = cli["input_fingerprint"]
    assert fingerprints["champion"] != fingerprints["override"]
