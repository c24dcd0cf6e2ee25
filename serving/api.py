"""The HTTP API's app: authentication, the roles' dependencies, and one error format.

The endpoints live in :mod:`serving.routes`, one router per resource, and are given what they
need (the caller, the service instance, the snapshot, the caller's sharing policy) by the
dependencies of :mod:`serving.deps`. Every key is checked by the authentication middleware
before any body is read; an endpoint names the permission it needs with one of
:data:`~serving.deps.Anyone`, :data:`~serving.deps.Reporter`, :data:`~serving.deps.Reader`,
:data:`~serving.deps.Planner`, :data:`~serving.deps.Admin`.
Every error answers JSON with what was wrong and how to fix it (:mod:`serving.http_errors`), and
every refused key, and every refused submission, leaves a line in the audit trail
(:class:`RefusalAudit`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from http import HTTPMethod, HTTPStatus
from typing import Any, get_args, get_origin

import anyio.to_thread
import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossplan.pipelines.database.audit import record_refusal
from crossplan.pipelines.errors import CrossplanError, DataValidationError, Problem
from crossplan.serving.auth import KeyBackend, KeyRing
from crossplan.serving.deps import service_of
from crossplan.serving.http_errors import (
    PlansBusyError,
    error_body,
    problems_body,
    problems_from_pydantic,
    problems_from_validation,
    routing_error,
    status_of,
)
from crossplan.serving.middleware import BodyLimitMiddleware, refuse_key
from crossplan.serving.routing import CompactBodyRoute
from crossplan.serving.schemas import MAX_BODY_BYTES, ErrorBody
from crossplan.serving.telemetry import metrics

__all__ = [
    "BAD_REQUEST",
    "ERRORS",
    "RefusalAudit",
    "api",
    "parse_date",
]

log = logging.getLogger(__name__)
# Problems of a query string listed at most.
_MAX_LISTED = 20
_HTTP_METHODS = frozenset(HTTPMethod)


def _takes_a_list(annotation: Any) -> bool:
    """Whether a query parameter's type is a list (``list[str]``, ``list[str] | None``)."""
    kinds = [annotation, *get_args(annotation)]
    return any(get_origin(kind) is list for kind in kinds)


def _query_parameters(dependant: Dependant) -> list[Any]:
    """The query parameters of an endpoint and of every dependency it has."""
    found = list(dependant.query_params)
    for dependency in dependant.dependencies:
        found += _query_parameters(dependency)
    return found


async def _query_as_documented(request: Request) -> None:
    """400 for a query string the OpenAPI document does not describe, listing every problem.

    Starlette would read it leniently: a parameter the endpoint does not take (a misspelt
    ``limt=5``, a key pasted as ``?api_key=``) would be ignored, an empty one (``category=``)
    read as an empty name, and a single-valued one given more than once taken at its last
    value. A request that says something the endpoint cannot hear is refused instead, naming
    the parameters it takes. (One dependency of the whole API: every route, the same rule.)
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    parameters = {p.alias: p for p in _query_parameters(route.dependant)}
    takes = (
        f"this endpoint takes {', '.join(sorted(parameters))}"
        if parameters
        else "this endpoint takes no query parameter"
    )
    items = request.query_params.multi_items()
    counts = Counter(name for name, _ in items)
    empty = {name for name, value in items if value == ""}
    problems = []
    for name, count in counts.items():
        parameter = parameters.get(name)
        if parameter is None:
            message, fix = f"unknown query parameter '{name[:100]}'", f"remove it: {takes}"
        elif count > 1 and not _takes_a_list(parameter.field_info.annotation):
            message, fix = f"'{name}' is given {count} times, and takes one value", "give it once"
        elif name in empty:
            message, fix = f"'{name}' is given empty", "leave it out, or give a value"
        else:
            continue
        problems.append(Problem("request", message, fix, None, name[:100]))
    if problems:
        raise DataValidationError(problems[:_MAX_LISTED])


api = FastAPI(
    title="crossplan",
    summary="Forecasts of cross-border trafficking and smuggling activity, and patrol plans",
    openapi_url=None,  # BentoML serves the merged document at /docs.json
    docs_url=None,
    redoc_url=None,
    dependencies=[Depends(_query_as_documented)],
)
# A plan's forecast rows are kept as the forecast table, not one object per row.
api.router.route_class = CompactBodyRoute


def _keyring(conn: HTTPConnection) -> KeyRing:
    return service_of(conn.app).keys.current()


# The most of a refused submission's answer read to count its problems.
_ANSWER_READ = 1 << 20


class RefusalAudit:
    """Audit refused requests: a missing or unknown key anywhere (``auth_refused``), and a
    400, 401 or 403 answer to ``POST /submissions`` (``submission_refused``), within the
    database's :class:`~pipelines.database.audit.RefusalLimit` (a prober cannot grow the
    trail without bound).

    A line names the key, its agency and country when the key is known, the client's
    address, the method, path and status, whether a key was sent, and a refused submission's
    number of problems: never the body, nor a presented key. It is written before the answer
    ends, so a refusal answered is a refusal in the trail. Outside the key check, so that it
    sees the key check's own answers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        submission = scope["method"] == "POST" and scope["path"].rstrip("/") == "/submissions"
        action = "submission_refused" if submission else "auth_refused"
        status, refused, answer = 0, False, bytearray()

        async def watch(message: Message) -> None:
            nonlocal status, refused
            if message["type"] == "http.response.start":
                status = message["status"]
                refused = status == 401 or (submission and status in (400, 403))
            elif refused:
                if status == 400 and len(answer) <= _ANSWER_READ:
                    answer.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    await anyio.to_thread.run_sync(
                        self._record, scope, action, status, bytes(answer)
                    )
            await send(message)

        await self.app(scope, receive, watch)

    def _record(self, scope: Scope, action: str, status: int, answer: bytes) -> None:
        user = scope.get("user")
        key = user if getattr(user, "is_authenticated", False) else None
        client = str((scope.get("client") or ("-",))[0])
        detail: dict[str, Any] = {
            "client": client,
            "method": scope["method"],
            "path": scope["path"][:200],
            "status": status,
            "key_sent": any(name == b"authorization" for name, _ in scope.get("headers", ())),
        }
        if status == 400:
            detail["problems"] = _problems(answer)
        try:
            record_refusal(
                service_of(scope["app"]).db,
                action,
                source=getattr(key, "name", None) or client,
                actor=getattr(key, "name", None),
                actor_agency=getattr(key, "agency", None),
                actor_country=getattr(key, "country", None),
                **detail,
            )
        except Exception:  # the trail's failure must not fail the answer
            log.exception("could not audit a refused %s %s", scope["method"], scope["path"])


def _problems(answer: bytes) -> int | None:
    """How many problems an error answer lists (``None`` when it cannot be read)."""
    try:
        return len(json.loads(answer)["problems"])
    except (ValueError, KeyError, TypeError):
        return None


# Added last, so it runs first: no body is read before the key is checked; refusals, the
# key check's included, are audited around it.
api.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
api.add_middleware(AuthenticationMiddleware, backend=KeyBackend(_keyring), on_error=refuse_key)
api.add_middleware(RefusalAudit)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    403: {"model": ErrorBody, "description": "The key's role may not do this"},
}
BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Every problem of the request, with its field"},
    503: {"model": ErrorBody, "description": "No model is loaded yet"},
}


@api.exception_handler(RequestValidationError)
async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(problems_body(problems_from_pydantic(exc.errors())), 400)


@api.exception_handler(CrossplanError)
async def _user_error(_: Request, exc: CrossplanError) -> JSONResponse:
    if isinstance(exc, DataValidationError):
        return JSONResponse(problems_body(problems_from_validation(exc)), 400)
    headers = None
    if isinstance(exc, PlansBusyError):
        metrics().plans_refused.labels(reason="busy").inc()
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(str(exc)), status_of(exc), headers=headers)


@api.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message, headers = str(exc.detail), exc.headers
    if exc.status_code in (404, 405) and message == HTTPStatus(exc.status_code).phrase:
        # The router's own answer (no such path or method), which says nothing of the fix.
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        allow = (headers or {}).get("Allow")
        message = routing_error(exc.status_code, request.method, request.url.path, allow)
    return JSONResponse(error_body(message), exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method the API's document declares at the request's path, an integer path
    parameter matching digits only, as its route does (``/submissions/check`` is no
    submission's id). (The router's 405 names those of the first route of the path only:
    ``POST`` for ``/webhooks``, which takes GET too.)"""
    path = request.url.path
    methods = {
        method.upper()
        for template, operations in api.openapi()["paths"].items()
        for method, operation in operations.items()
        if method.upper() in _HTTP_METHODS
        if compile_path(_typed(template, operation))[0].match(path)
    }
    return ", ".join(sorted(methods))


def _typed(template: str, operation: dict[str, Any]) -> str:
    """``template`` with the operation's integer path parameters as ``{name:int}``."""
    for parameter in operation.get("parameters", ()):
        if parameter.get("in") == "path" and parameter["schema"].get("type") == "integer":
            name = parameter["name"]
            template = template.replace(f"{{{name}}}", f"{{{name}:int}}")
    return template


@api.exception_handler(Exception)
async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("unexpected error in the service; it is logged"), 500)


def parse_date(value: str | None, name: str) -> pd.Timestamp | None:
    """A ``YYYY-MM-DD`` query parameter as a timestamp; 400 naming ``name`` otherwise."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        stamp = None
    if stamp is None or stamp is pd.NaT or stamp.tzinfo is not None:
        what = "has a time zone" if stamp is not None and stamp.tzinfo else "is not a date"
        raise DataValidationError(
            [Problem("request", f"{name}={value!r} {what}", "write YYYY-MM-DD", None, name)]
        )
    return stamp
