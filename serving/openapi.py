"""The OpenAPI document the service publishes at ``/docs.json``, true to what it does.

BentoML merges FastAPI's document into its own and labels the result OpenAPI 3.0.2, but
FastAPI writes OpenAPI 3.1 (numeric ``exclusiveMinimum``, ``"type": "null"``), so standard
tools misread it. It also keeps FastAPI's default 422 "Validation Error" answer, which this
service never gives (a bad request is a 400 listing every problem), says ``application/json``
where GeoJSON is sent as ``application/geo+json``, and has no version. And it cannot say what
the API's one query-string rule refuses (:func:`serving.api._query_as_documented`): any
operation behind the key may answer 400 to a parameter it does not take, and a text
parameter given empty is refused (``minLength: 1``). This module corrects the merged
document; the API itself is unchanged. :func:`openapi_app` serves it, mounted before
BentoML's own route, and like it needs no key: at ``/docs.json`` and at ``/openapi.json``,
where tools look first.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["DOCUMENT_PATHS", "GEOJSON_ROUTES", "OPENAPI_VERSION", "honest_openapi", "openapi_app"]

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


def _version() -> str:
    try:
        return version("crossplan")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


def honest_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of BentoML's merged document, corrected as the module docstring says."""
    doc = copy.deepcopy(spec)
    doc["openapi"] = OPENAPI_VERSION
    doc["info"]["version"] = _version()
    doc["info"].pop("contact", None)
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
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
    schemas = doc.get("components", {}).get("schemas", {})
    for name in _UNUSED:
        schemas.pop(name, None)
    return doc


def _refuse_empty(schema: dict[str, Any]) -> None:
    """``minLength: 1`` on the text of a query parameter's schema (alternatives and array
    items included), where it has no length or values of its own."""
    for alternative in schema.get("anyOf", []):
        _refuse_empty(alternative)
    if isinstance(schema.get("items"), dict):
        _refuse_empty(schema["items"])
    if schema.get("type") == "string" and not {"minLength", "enum", "const"} & schema.keys():
        schema["minLength"] = 1


def openapi_app(spec: Callable[[], dict[str, Any]]) -> Starlette:
    """``GET /docs.json`` and ``GET /openapi.json``: the corrected document of ``spec()``,
    BentoML's merged one."""

    async def document(_: Request) -> JSONResponse:
        return JSONResponse(honest_openapi(spec()))

    return Starlette(routes=[Route(path, document, methods=["GET"]) for path in DOCUMENT_PATHS])
