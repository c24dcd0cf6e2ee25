"""The API hears only what its document describes, and the document says what it refuses:
a query parameter an endpoint does not take, one given empty, or a single-valued one given
twice is a 400 naming the parameters it takes; a 405 lists every method of the path; a
webhook URL is printable ASCII; and the document is served where tools look for it
(``/openapi.json``) as at ``/docs.json``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("url", "field", "message", "fix"),
    [
        # a parameter the endpoint does not take (a key pasted into the URL)
        (
            "/incidents?api_key=cpk_x",
            "api_key",
            "unknown query parameter 'api_key'",
            "remove it: this endpoint takes category, end, format, region, start",
        ),
        # an endpoint that takes none
        ("/me?limit=5", "limit", "unknown query parameter 'limit'", "takes no query parameter"),
        # a misspelling is not ignored
        ("/alerts?limt=5", "limt", "unknown query parameter 'limt'", "this endpoint takes limit"),
        # an empty value, of a list and of a single value
        ("/incidents?category=", "category", "'category' is given empty", "leave it out"),
        ("/incidents?start=2024-01-01&end=", "end", "'end' is given empty", "leave it out"),
        ("/audit?action=", "action", "'action' is given empty", "leave it out"),
        # a single value given twice
        ("/audit?limit=1&limit=2", "limit", "'limit' is given 2 times", "give it once"),
    ],
)
def test_a_query_string_the_endpoint_cannot_read_is_a_400(
    client: TestClient, served: dict[str, str], url: str, field: str, message: str, fix: str
) -> None:
    r = client.get(url, headers=_bearer(served["admin"]))
    assert r.status_code == 400, r.text
    (problem,) = r.json()["problems"]
    assert problem["field"] == field
    assert message in problem["message"]
    assert fix in problem["fix"]


def test_what_the_endpoint_takes_still_works(client: TestClient, served: dict[str, str]) -> None:
    auth = _bearer(served["admin"])
    assert client.get("/alerts?limit=5", headers=auth).status_code == 200
    url = "/incidents?category=smuggling_of_migrants&category=trafficking_in_persons&format=csv"
    assert client.get(url, headers=auth).status_code == 200  # a list, given twice
    # the key is checked first: without one, the answer is 401 whatever the query
    assert client.get("/me?api_key=cpk_x").status_code == 401


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "PATCH"])
def test_a_405_names_every_method_of_the_path(
    client: TestClient, served: dict[str, str], method: str
) -> None:
    r = client.request(method, "/webhooks", headers=_bearer(served["analyst"]))
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["error"].endswith("fix: use GET, POST")


def test_the_document_says_what_the_query_string_rule_refuses(client: TestClient) -> None:
    doc = client.get("/docs.json").json()
    assert client.get("/openapi.json").json() == doc
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if "401" in operation["responses"]:  # the API's, behind the key
                assert "400" in operation["responses"], (method, path)
    parameters = {p["name"]: p["schema"] for p in doc["paths"]["/incidents"]["get"]["parameters"]}
    assert _texts(parameters["category"]) == [{"type": "string", "minLength": 1}]
    assert _texts(parameters["end"]) == [{"type": "string", "minLength": 1}]
    assert "minLength" not in str(parameters["format"])  # its values say it already


def _texts(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The text schemas in ``schema`` (its alternatives and array items)."""
    found = [] if schema.get("type") != "string" else [schema]
    for alternative in schema.get("anyOf", []):
        found += _texts(alternative)
    if isinstance(schema.get("items"), dict):
        found += _texts(schema["items"])
    return found


@pytest.mark.parametrize(
    ("url", "character"),
    [
        ("https://exämple.org/hook", "'ä' at position 11"),  # an international host name
        ("https://example.org/\u0661", "'١' at position 21"),  # a non-ASCII digit in the path
        ("https://example.org/a b", "a space at position 22"),
    ],
)
def test_a_webhook_url_is_printable_ascii_as_documented(
    client: TestClient, served: dict[str, str], url: str, character: str
) -> None:
    schema = client.get("/docs.json").json()["components"]["schemas"]["WebhookRequest"]
    pattern = schema["properties"]["url"]["pattern"]
    assert re.fullmatch(pattern, "https://alerts.example.org/crossplan?token=a%20b")
    assert not re.fullmatch(pattern, url)
    r = client.post("/webhooks", json={"url": url}, headers=_bearer(served["analyst"]))
    assert r.status_code == 400
    (problem,) = r.json()["problems"]
    assert problem["field"] == "url" and character in problem["message"]
