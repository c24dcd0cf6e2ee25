"""The API manual (``/docs``, from ``/docs.json``) is true and its examples work: every
example body it offers is accepted, each operation's roles are the ones its route lets in,
and operations are grouped by resource."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from crossplan.serving.auth import Role
from crossplan.serving.openapi import ROLES, TAGS

# Paths whose examples come from the served panel for the reader's key (serving.manual_examples).
SERVED = ("/operations", "/webhooks")


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


def _examples(op: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every example body of an operation: (media type, value)."""
    found = []
    for media_type, media in op.get("requestBody", {}).get("content", {}).items():
        if "example" in media:
            found.append((media_type, media["example"]))
        found += [(media_type, e["value"]) for e in media.get("examples", {}).values()]
    return found


def test_every_example_body_of_the_manual_is_accepted(
    client: TestClient, served: dict[str, str]
) -> None:
    doc = client.get("/docs.json").json()
    sent = []
    for path, method, op in _operations(doc):
        if path.startswith(SERVED):  # drawn for the key that reads: test_operations_story
            assert not _examples(op), (method, path)
            continue
        for media_type, value in _examples(op):
            body = value if isinstance(value, str) else json.dumps(value)
            r = client.request(
                method.upper(),
                path,
                content=body,
                headers={"Authorization": f"Bearer {served['admin']}", "Content-Type": media_type},
            )
            # accepted: what "Try it out" sends is never a bad request
            assert r.status_code < 400, (method, path, media_type, value, r.text)
            sent.append(f"{method.upper()} {path} {media_type}")
    assert {"POST /plan application/json", "POST /forecast application/json",
            "POST /submissions application/json", "POST /submissions text/csv"} <= set(sent)  # fmt: skip


def test_the_roles_of_each_operation_are_those_its_route_lets_in(
    client: TestClient, served: dict[str, str]
) -> None:
    doc = client.get("/docs.json").json()
    checked = 0
    for path, method, op in _operations(doc):
        if "401" not in op["responses"]:  # behind no key: no roles
            assert ROLES not in op, path
            continue
        assert op[ROLES] and set(op[ROLES]) <= {r.value for r in Role}, path
        if method != "get" or "{" in path:
            continue
        for role in Role:
            r = client.get(path, headers={"Authorization": f"Bearer {served[role.value]}"})
            assert (r.status_code != 403) is (role.value in op[ROLES]), (path, role, r.text)
            checked += 1
    assert checked > 30
    assert doc["paths"]["/metrics"]["get"][ROLES] == ["admin"]


def test_operations_are_grouped_by_resource(client: TestClient) -> None:
    doc = client.get("/docs.json").json()
    tags = [t["name"] for t in doc["tags"]]
    assert tags == [t for t in TAGS if t in tags]  # the manual's order, no empty group
    for path, method, op in _operations(doc):
        assert len(op["tags"]) == 1 and op["tags"][0] in tags, (method, path, op.get("tags"))
    used = {op["tags"][0] for _, _, op in _operations(doc)}
    assert used == set(tags)
    assert doc["paths"]["/plans/{plan_id}/tasking.csv"]["get"]["tags"] == ["plans"]
    assert doc["paths"]["/healthz"]["get"]["tags"] == ["health"]


def test_submitted_rows_have_a_schema(client: TestClient) -> None:
    doc = client.get("/docs.json").json()
    body = doc["paths"]["/submissions"]["post"]["requestBody"]["content"]["application/json"]
    row = body["schema"]["properties"]["rows"]["items"]
    assert {"region_id", "period"} <= set(row["required"])
    assert set(row["properties"]) == {
        "region_id", "period", "category", "reported", "detected", "effort", "count", "source",
    }  # fmt: skip
    assert "^cov_" in row["patternProperties"] and row["additionalProperties"] is False
