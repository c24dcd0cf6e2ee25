"""The OpenAPI document the service publishes at ``/docs.json``, true to what it does.

BentoML merges FastAPI's document into its own and labels the result OpenAPI 3.0.2, but
FastAPI writes OpenAPI 3.1 (numeric ``exclusiveMinimum``, ``"type": "null"``), so standard
tools misread it. It also keeps FastAPI's default 422 "Validation Error" answer, which this
service never gives (a bad request is a 400 listing every problem), says ``application/json``
where GeoJSON is sent as ``application/geo+json``, and has no version. And it cannot say what
the API's one query-string rule refuses (:func:`serving.api._query_as_documented`): any
operation behind the key may answer 400 to a parameter it does not take, and a text
parameter given empty is refused (``minLength: 1``). Nor does it say who may call what: each
operation gets the roles its route's permission dependency lets through
(``x-crossplan-roles``, read from the routes, :func:`serving.deps.roles_of`), and the
operations are grouped by resource (:data:`TAGS`), not under BentoML's empty "Service APIs".
A request model's ``examples`` become its body's examples, which the manual's "Try it out"
sends (the tests send each one too); bodies that only the served panel can give (a joint
operation's regions and units, a webhook's host) come from :mod:`serving.manual_examples`. This module corrects the merged document; the API
itself is unchanged. :func:`openapi_app` serves it, mounted before
BentoML's own route, and like it needs no key: at ``/docs.json`` and at ``/openapi.json``,
where tools look first.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi.routing import APIRoute
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from crossplan.serving.deps import roles_of
from crossplan.serving.manual_examples import Examples

__all__ = [
    "DOCUMENT_PATHS",
    "GEOJSON_ROUTES",
    "OPENAPI_VERSION",
    "ROLES",
    "TAGS",
    "honest_openapi",
    "openapi_app",
    "operation_roles",
]

# Where the document is served: the service's own address, and the one tools try first.
DOCUMENT_PATHS = ("/docs.json", "/openapi.json")

OPENAPI_VERSION = "3.1.0"
# Operations whose 200 answer is GeoJSON (RFC 7946's media type).
GEOJSON_ROUTES = (
    ("/regions", "get"),
    ("/countries", "get"),
    ("/plans/{plan_id}/geojson", "get"),
)
_BAD_REQUEST = {
    "description": "Every problem of the request, with its field and how to fix it",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
_UNUSED = ("HTTPValidationError", "ValidationError")
#: The groups of the manual, in its order: each operation's tag names its resource.
TAGS = {
    "plans": "Plan patrols and joint operations; stored plans, their taskings, what moved",
    "forecasts": "Forecasts per region, category and period, and the model that makes them",
    "operations": "Joint operations agreed between parties: propose, pledge, decline, value",
    "submissions": "An agency's incident rows into the shared panel",
    "alerts": "Risk alerts on the key's view, and the webhooks they are posted to",
    "data": "The shared panel, regions, observed counts and resources, as the key may read them",
    "keys": "The key you call with: its holder, role and what it may do",
    "admin": "Reloading the model, the audit trail, metrics",
    "health": "Liveness and readiness, for orchestrators (no key)",
}
_BENTOML_TAGS = {"Infrastructure": "health"}
#: Where an operation's roles are: the roles whose keys may call it; absent, no key is needed.
ROLES = "x-crossplan-roles"
Roles = dict[tuple[str, str], list[str]]


def _version() -> str:
    try:
        return version("crossplan")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


def operation_roles(routes: Iterable[BaseRoute]) -> Roles:
    """``(path, method)``: the roles that may call it, of every operation of ``routes``
    behind a key, read from the permission its route depends on."""
    found: Roles = {}
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            roles = roles_of(route)
            if roles is not None:
                for method in route.methods or ():
                    found[(route.path_format, method.lower())] = [r.value for r in roles]
    return found


def honest_openapi(
    spec: dict[str, Any], roles: Roles | None = None, examples: Examples | None = None
) -> dict[str, Any]:
    """A copy of BentoML's merged document, corrected as the module docstring says; ``roles``
    from :func:`operation_roles`, ``examples`` from :func:`serving.manual_examples.manual_examples`."""
    doc = copy.deepcopy(spec)
    doc["openapi"] = OPENAPI_VERSION
    doc["info"]["version"] = _version()
    doc["info"].pop("contact", None)
    schemas = doc.get("components", {}).get("schemas", {})
    used: set[str] = set()
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["tags"] = [_BENTOML_TAGS.get(t, t) for t in operation.get("tags", [])]
            used.update(operation["tags"])
            if roles and (path, method) in roles:
                operation[ROLES] = roles[(path, method)]
            _examples_of_the_body(operation, schemas, (examples or {}).get((path, method)))
            responses = operation["responses"]
            default_422 = responses.get("422", {}).get("description") == "Validation Error"
            if default_422:
                del responses["422"]
            # The API's operations (behind the key) all refuse a query string they cannot read.
            if default_422 or "401" in responses or operation.get("requestBody"):
                responses.setdefault("400", _BAD_REQUEST)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and "schema" in parameter:
                    _refuse_empty(parameter["schema"])
            if (path, method) in GEOJSON_ROUTES and "200" in responses:
                content = responses["200"].get("content", {})
                if "application/json" in content:
                    content["application/geo+json"] = content.pop("application/json")
    for name in _UNUSED:
        schemas.pop(name, None)
    doc["tags"] = [{"name": n, "description": d} for n, d in TAGS.items() if n in used]
    return doc


def _examples_of_the_body(
    operation: dict[str, Any], schemas: dict[str, Any], served: dict[str, Any] | None
) -> None:
    """The examples of a JSON body's model, or ``served`` from the panel, as the body's
    examples (which Swagger UI sends)."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if served and media:
        media.pop("example", None)
        media["examples"] = served
        return
    ref = media.get("schema", {}).get("$ref", "")
    found = schemas.get(ref.rsplit("/", 1)[-1], {}).get("examples")
    if found and "example" not in media and "examples" not in media:
        media["examples"] = {f"example {i}": {"value": v} for i, v in enumerate(found, 1)}


def _refuse_empty(schema: dict[str, Any]) -> None:
    """``minLength: 1`` on the text of a query parameter's schema (alternatives and array
    items included), where it has no length or values of its own."""
    for alternative in schema.get("anyOf", []):
        _refuse_empty(alternative)
    if isinstance(schema.get("items"), dict):
        _refuse_empty(schema["items"])
    if schema.get("type") == "string" and not {"minLength", "enum", "const"} & schema.keys():
        schema["minLength"] = 1


def openapi_app(
    spec: Callable[[], dict[str, Any]],
    roles: Callable[[], Roles],
    examples: Callable[[Request], Examples] = lambda _: {},
) -> Starlette:
    """``GET /docs.json`` and ``GET /openapi.json``: the corrected document of ``spec()``,
    BentoML's merged one, with the ``roles()`` of its operations and the ``examples`` drawn
    for the request's key."""

    async def document(request: Request) -> JSONResponse:
        served = examples(request)
        # Examples drawn for a key are that key's: no shared cache may keep or replay them.
        private = {"Cache-Control": "private, no-store"} if served else {}
        return JSONResponse(
            honest_openapi(spec(), roles(), served), headers={"Vary": "Authorization", **private}
        )

    return Starlette(routes=[Route(path, document, methods=["GET"]) for path in DOCUMENT_PATHS])
