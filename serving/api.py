"""The HTTP API's app: authentication, the roles' dependencies, and one error format.

The endpoints live in :mod:`serving.routes`, one router per resource, and reach the service
instance (its database, panel and model) through :func:`service`. Every key is checked by the
authentication middleware before any body is read; an endpoint names the permission it needs
with one of :data:`Anyone`, :data:`Reporter`, :data:`Reader`, :data:`Planner`, :data:`Admin`.
Every error answers JSON with what was wrong and how to fix it (:mod:`serving.errors`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

import bentoml
import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.authentication import AuthenticationMiddleware

from pipelines.errors import CrossplanError, DataValidationError, Problem
from serving.auth import KeyBackend, KeyRing, Permission, Principal
from serving.errors import (
    PlansBusyError,
    error_body,
    problems_from_pydantic,
    problems_from_validation,
    routing_error,
    status_of,
)
from serving.middleware import BodyLimitMiddleware, refuse_key
from serving.routing import CompactBodyRoute
from serving.schemas import MAX_BODY_BYTES, ErrorBody
from serving.telemetry import metrics

if TYPE_CHECKING:
    from serving.service import CrossplanService

__all__ = [
    "BAD_REQUEST",
    "ERRORS",
    "Admin",
    "Anyone",
    "Planner",
    "Reader",
    "Reporter",
    "api",
    "parse_date",
    "require",
    "service",
]

log = logging.getLogger(__name__)


def _takes_a_list(annotation: Any) -> bool:
    """Whether a query parameter's type is a list (``list[str]``, ``list[str] | None``)."""
    kinds = [annotation, *get_args(annotation)]
    return any(get_origin(kind) is list for kind in kinds)


async def _one_value_per_parameter(request: Request) -> None:
    """400 for a single-valued query parameter given more than once.

    Starlette would take the last value and drop the others silently: a request that says two
    things is refused, as the OpenAPI document describes each such parameter as one value.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    single = {
        p.alias
        for p in route.dependant.query_params  # the endpoint's own: no dependency has any
        if not _takes_a_list(p.field_info.annotation)
    }
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name in single if counts[name] > 1)
    if repeated:
        raise RequestValidationError(
            [
                {"type": "repeated_parameter", "loc": ("query", name),
                 "msg": f"'{name}' is given {counts[name]} times, and takes one value"}
                for name in repeated
            ]
        )  # fmt: skip


api = FastAPI(
    title="crossplan",
    summary="Forecasts of cross-border trafficking and smuggling activity, and patrol plans",
    openapi_url=None,  # BentoML serves the merged document at /docs.json
    docs_url=None,
    redoc_url=None,
    dependencies=[Depends(_one_value_per_parameter)],
)
# A plan's forecast rows are kept as the forecast table, not one object per row.
api.router.route_class = CompactBodyRoute


def service() -> CrossplanService:
    """The service instance answering the current request."""
    current: CrossplanService = bentoml.get_current_service()
    return current


def _keyring() -> KeyRing:
    return service().keys.current()


# Added last, so it runs first: no body is read before the key is checked.
api.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
api.add_middleware(AuthenticationMiddleware, backend=KeyBackend(_keyring), on_error=refuse_key)

_bearer = HTTPBearer(auto_error=False, description="An API key from `crossplan keys add`")


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller, or 403 when their role may not ``permission``."""

    async def check(request: Request, _: Annotated[Any, Depends(_bearer)]) -> Principal:
        principal: Principal = request.user  # set by the authentication middleware
        if permission.value not in request.auth.scopes:
            metrics().auth_failures.labels(status="403").inc()
            raise HTTPException(
                403, f"the key of '{principal.name}' ({principal.role}) may not {permission.value}"
            )
        return principal

    return check


async def _anyone(request: Request, _: Annotated[Any, Depends(_bearer)]) -> Principal:
    principal: Principal = request.user
    return principal


Anyone = Annotated[Principal, Depends(_anyone)]
Reporter = Annotated[Principal, Depends(require(Permission.SUBMIT))]
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Planner = Annotated[Principal, Depends(require(Permission.PLAN))]
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]

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
    problems = problems_from_pydantic(exc.errors())
    n = len(problems)
    return JSONResponse(
        error_body(f"{n} problem{'s' if n != 1 else ''} in the request", problems), 400
    )


@api.exception_handler(CrossplanError)
async def _user_error(_: Request, exc: CrossplanError) -> JSONResponse:
    if isinstance(exc, DataValidationError):
        problems = problems_from_validation(exc)
        n = len(problems)
        return JSONResponse(
            error_body(f"{n} problem{'s' if n != 1 else ''} in the request", problems), 400
        )
    headers = None
    if isinstance(exc, PlansBusyError):
        metrics().plans_refused.labels(reason="busy").inc()
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(str(exc)), status_of(exc), headers=headers)


@api.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = str(exc.detail)
    if exc.status_code in (404, 405) and message == HTTPStatus(exc.status_code).phrase:
        # The router's own answer (no such path or method), which says nothing of the fix.
        allow = (exc.headers or {}).get("Allow")
        message = routing_error(exc.status_code, request.method, request.url.path, allow)
    return JSONResponse(error_body(message), exc.status_code, headers=exc.headers)


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
