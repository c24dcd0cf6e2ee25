"""The planning service: forecasts and plans over HTTP, with keys and an audit trail.

``bentoml serve serving.service:CrossplanService`` (or ``crossplan serve``). The service loads
the panel, the champion model, the keys and the plan store once, in ``__init__``; each
endpoint is a few lines calling :mod:`serving.forecasts`, :mod:`serving.planning` (which calls
:mod:`optimize`) and :mod:`serving.store`. BentoML adds ``/healthz`` and ``/readyz`` (ready once
a model is loaded), which need no key. The OpenAPI document ``/docs.json`` is BentoML's, made
honest by :mod:`serving.openapi`; ``/metrics`` is served to admins, or on a separate local
port (:mod:`serving.telemetry`), and BentoML's own request metrics and access log are replaced
by ones that cannot be grown or forged by callers (:mod:`serving.middleware`,
:mod:`serving.logs`).
The home page ``/`` is the planners' map and ``/docs`` the manual that documents every field
(:mod:`serving.page`); :mod:`serving.security` keeps everything served to this origin.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

import anyio.to_thread
import bentoml
import bentoml._internal.server.http.traffic as _bentoml_traffic
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Mount, Route, compile_path

from optimize.resources import Resources
from pipelines.errors import CrossplanError, DataValidationError
from serving.auth import KeyBackend, KeyRing, KeysFile, Permission, Principal
from serving.errors import (
    PlanNotFoundError,
    PlansBusyError,
    ReloadFailedError,
    error_body,
    problems_from_pydantic,
    problems_from_validation,
    status_of,
)
from serving.forecasts import Snapshot, load_snapshot
from serving.geojson import plan_feature_collection
from serving.isolation import start_forkserver
from serving.logs import configure_logging
from serving.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    TimeoutMiddleware,
    refuse_key,
)
from serving.openapi import openapi_app
from serving.page import page_app, tile_url
from serving.planning import PlanGate, plan_on_snapshot
from serving.schemas import (
    MAX_BODY_BYTES,
    ErrorBody,
    FeatureCollection,
    ForecastRequest,
    ForecastResponse,
    ModelCard,
    ObservedCounts,
    PlanList,
    PlanListItem,
    PlanRequest,
    PlanResponse,
    ReloadResponse,
    WhoAmI,
)
from serving.security import SecurityHeadersMiddleware
from serving.settings import Settings
from serving.store import PlanRecord, PlanStore
from serving.telemetry import (
    RouteMetricsMiddleware,
    metrics,
    metrics_listener,
    metrics_text,
    start_metrics_listener,
)
from serving.views import DEFAULT_OBSERVED_PERIODS, observed_counts, regions_collection

__all__ = ["CrossplanService", "api", "require"]

log = logging.getLogger(__name__)

api = FastAPI(
    title="crossplan",
    summary="Forecasts of cross-border trafficking and smuggling activity, and patrol plans",
    openapi_url=None,  # BentoML serves the merged document at /docs.json
    docs_url=None,
    redoc_url=None,
)


def _keyring() -> KeyRing:
    service: CrossplanService = bentoml.get_current_service()
    return service.keys.current()


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


Reader = Annotated[Principal, Depends(require(Permission.READ))]
Planner = Annotated[Principal, Depends(require(Permission.PLAN))]
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    403: {"model": ErrorBody, "description": "The key's role may not do this"},
}
_BAD_REQUEST: dict[int | str, dict[str, Any]] = {
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
async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(error_body(str(exc.detail)), exc.status_code, headers=exc.headers)


@api.exception_handler(Exception)
async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("unexpected error in the service; it is logged"), 500)


_PAGE = page_app()
# BentoML's request timeout keeps a timer per request for the whole timeout, a leak at load
# (see serving.middleware.TimeoutMiddleware); the app BentoML builds takes this one instead.
_bentoml_traffic.TimeoutMiddleware = TimeoutMiddleware  # type: ignore[misc,assignment]


@bentoml.service(
    name="crossplan",
    workers=1,  # one process: the model snapshot and /admin/reload are per process
    # Above the longest plan (its deadline plus the grace before it is killed).
    traffic={"timeout": 660},
    endpoints={"livez": "/healthz", "readyz": "/readyz"},
    # BentoML's request metrics label raw paths and its access log names no key holder:
    # ours replace both (serving.telemetry, serving.middleware).
    metrics={"enabled": False},
    logging={"access": {"enabled": False}},
    # BentoML opens an OpenTelemetry span for every request, and with no exporter configured
    # the spans are kept: about 5 KB a request, on every endpoint (tracemalloc on /healthz;
    # compare bentoml/BentoML#4760). crossplan exports no traces, so none are made.
    tracing={"excluded_urls": [".*"]},
)
@bentoml.asgi_app(api, path="/")
@bentoml.asgi_app(_PAGE, path="/", name="page")
@bentoml.asgi_app(
    openapi_app(lambda: cast(Any, CrossplanService).openapi_spec.asdict()),
    path="/",
    name="openapi",
)
class CrossplanService:
    """Loads keys, plan store, panel and model; reloads the model on demand."""

    def __init__(self) -> None:
        configure_logging()
        listener = metrics_listener()
        if listener is not None:
            start_metrics_listener(*listener)
        self.plan_gate = PlanGate.from_env()
        start_forkserver()  # plans run in its children; the first one should not wait for it
        self.settings = Settings.from_env()
        self.keys = KeysFile(self.settings.keys_file)
        self.keys.current()  # a broken keys file stops the start, with its error
        self.store = PlanStore(self.settings.plans_db)
        self._reload_lock = threading.Lock()
        self.snapshot: Snapshot = load_snapshot(self.settings)
        self._show_model(None)
        card = self.snapshot.card()
        log.info("serving %s", card["reason"] or f"model version {card['version']}")

    def __is_ready__(self) -> bool:
        return self.snapshot.model is not None

    def _show_model(self, old: Snapshot | None) -> None:
        metrics().show_model(
            self.snapshot.model_labels(), None if old is None else old.model_labels()
        )

    @api.post(
        "/forecast",
        response_model=ForecastResponse,
        responses={**_ERRORS, **_BAD_REQUEST},
        summary="Forecast activity per region, category and period (role: planner)",
    )
    async def forecast(self, body: ForecastRequest, _: Planner) -> Response:
        snapshot = self.snapshot
        model = snapshot.require_model()
        # A question asked before is answered on the event loop; a new one off it.
        content = model.cached_answer(body.horizon, body.regions, body.categories)
        if content is None:
            content = await anyio.to_thread.run_sync(
                model.answer, snapshot.dataset, body.horizon, body.regions, body.categories
            )
        return Response(content, media_type="application/json")

    @api.post(
        "/plan",
        response_model=PlanResponse,
        responses={
            **_ERRORS,
            **_BAD_REQUEST,
            422: {"model": ErrorBody, "description": "No plan: the optimizer's diagnosis"},
            429: {
                "model": ErrorBody,
                "description": "Too many plans at once; retry after the Retry-After seconds",
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait",
                        "schema": {"type": "integer"},
                    }
                },
            },
            503: {
                "model": ErrorBody,
                "description": "No model is loaded yet, or the plan needs more memory than "
                "a plan may use",
            },
            504: {"model": ErrorBody, "description": "No plan within the request's time limit"},
        },
        summary="Plan patrols and joint operations; the plan is stored (role: planner)",
    )
    def plan(self, body: PlanRequest, who: Planner) -> dict[str, Any] | JSONResponse:
        started = time.perf_counter()
        outcome = plan_on_snapshot(self.snapshot, body, who.name, started, self.plan_gate)
        self.store.add(outcome.record)
        m = metrics()
        m.plans.labels(status=outcome.record.status, solver=body.solver).inc()
        if outcome.record.solve_seconds is not None:
            m.solve_seconds.labels(solver=body.solver).observe(outcome.record.solve_seconds)
        if not outcome.feasible:
            return JSONResponse(
                error_body(
                    "no plan meets every constraint; see the diagnosis",
                    diagnosis=outcome.record.response["diagnosis"],
                    plan_id=outcome.record.plan_id,
                ),
                422,
            )
        return outcome.record.response

    @api.get(
        "/plans",
        response_model=PlanList,
        responses=_ERRORS,
        summary="Recent plans, newest first (role: analyst)",
    )
    def plans(
        self,
        _: Reader,
        limit: Annotated[int, Query(ge=1, le=1000, description="How many plans")] = 50,
        requester: Annotated[
            str | None, Query(max_length=64, description="Only this key holder's plans")
        ] = None,
    ) -> PlanList:
        return PlanList(
            plans=[PlanListItem(**vars(s)) for s in self.store.recent(limit, requester)]
        )

    @api.get(
        "/plans/{plan_id}",
        response_model=PlanResponse,
        responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No plan has this id"}},
        summary="A stored plan (role: analyst)",
    )
    def get_plan(self, plan_id: str, _: Reader) -> dict[str, Any]:
        return self._stored(plan_id).response

    @api.get(
        "/plans/{plan_id}/geojson",
        response_model=FeatureCollection,
        responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No plan has this id"}},
        summary="A stored plan as GeoJSON: risk, effort, interdictions per period (role: analyst)",
    )
    def get_plan_geojson(self, plan_id: str, _: Reader) -> JSONResponse:
        collection = plan_feature_collection(self._stored(plan_id).response, self.snapshot.dataset)
        return JSONResponse(collection, media_type="application/geo+json")

    @api.get(
        "/me",
        response_model=WhoAmI,
        responses=_ERRORS,
        summary="Who holds this key, and what it may do (any role)",
    )
    def me(self, who: Reader) -> WhoAmI:
        may = [p.value for p in Permission if who.may(p)]
        return WhoAmI.model_validate({"name": who.name, "role": who.role.value, "may": may})

    @api.get(
        "/regions",
        response_model=FeatureCollection,
        responses=_ERRORS,
        summary="The served regions as GeoJSON: region_id, country, name, kind (role: analyst)",
    )
    def regions(self, _: Reader) -> JSONResponse:
        return JSONResponse(
            regions_collection(self.snapshot.dataset), media_type="application/geo+json"
        )

    @api.get(
        "/observed",
        response_model=ObservedCounts,
        responses=_ERRORS,
        summary="Recent observed counts per region, category and period (role: analyst)",
    )
    def observed(
        self,
        _: Reader,
        periods: Annotated[
            int, Query(ge=1, le=520, description="How many of the latest periods")
        ] = DEFAULT_OBSERVED_PERIODS,
    ) -> JSONResponse:
        return JSONResponse(observed_counts(self.snapshot.dataset, periods))

    @api.get(
        "/resources",
        response_model=Resources,
        responses={
            **_ERRORS,
            404: {"model": ErrorBody, "description": "The data directory has no resources.json"},
        },
        summary="The served data directory's units, agreements, joint operations and policy (role: analyst)",
    )
    def resources(self, _: Reader) -> Resources:
        resources = self.snapshot.dataset.resources
        if resources is None:
            raise HTTPException(
                404,
                "the served data directory has no resources.json — fix: add one, or send "
                "'resources' with each POST /plan",
            )
        return resources

    def _stored(self, plan_id: str) -> PlanRecord:
        record = self.store.get(plan_id)
        if record is None:
            raise PlanNotFoundError(
                f"no plan with id '{plan_id}' — fix: GET /plans lists the plans"
            )
        return record

    @api.get(
        "/model",
        response_model=ModelCard,
        responses=_ERRORS,
        summary="The served model, its backtest metrics, and whether the service is degraded (role: analyst)",
    )
    def model(self, _: Reader) -> ModelCard:
        return ModelCard(**self.snapshot.card())

    @api.post(
        "/admin/reload",
        response_model=ReloadResponse,
        responses={
            **_ERRORS,
            400: {"model": ErrorBody, "description": "The data directory is invalid"},
            503: {"model": ErrorBody, "description": "MLflow cannot give the champion now"},
        },
        summary="Load the current champion and panel without a restart (role: admin)",
    )
    def reload(self, who: Admin) -> ReloadResponse:
        with self._reload_lock:
            old = self.snapshot
            new = load_snapshot(self.settings)
            if _healthy(old) and not _healthy(new):
                raise ReloadFailedError(
                    f"{new.card()['reason']} — still serving version {old.card()['version']}; "
                    "fix: check the MLflow store, then reload again"
                )
            # One reference swap: requests in flight keep the snapshot they started with.
            self.snapshot = new
            self._show_model(old)
        previous = None if old.model is None else old.model.card["version"]
        card = new.card()
        log.info("'%s' reloaded the model: %s -> %s", who.name, previous, card["version"])
        return ReloadResponse(previous_version=previous, model=ModelCard(**card))

    @api.get(
        "/metrics",
        responses={
            **_ERRORS,
            200: {
                "description": "Prometheus metrics",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            404: {"model": ErrorBody, "description": "Metrics are served on a separate port"},
        },
        summary="Prometheus metrics, labelled by route template (role: admin)",
    )
    def metrics(self, _: Admin) -> Response:
        if metrics_listener() is not None:
            raise HTTPException(
                404, "metrics are served on the port CROSSPLAN_METRICS names — fix: scrape that"
            )
        body, media_type = metrics_text()
        return Response(body, media_type=media_type)


# On the whole service, so BentoML's own routes (/docs.json, /metrics, ...) get the headers
# too. bentoml.service is typed as returning the class; it returns a bentoml.Service.
cast(Any, CrossplanService).add_asgi_middleware(SecurityHeadersMiddleware, tile_url=tile_url())
cast(Any, CrossplanService).add_asgi_middleware(AccessLogMiddleware, skip=("/healthz", "/readyz"))
cast(Any, CrossplanService).add_asgi_middleware(
    RouteMetricsMiddleware, routes=lambda: _route_templates()
)


def _route_templates() -> list[tuple[Any, str]]:
    """Every route of the service as (path regex, template): the API's from its OpenAPI
    document, the page's from its routes (a mount matches everything below it)."""
    paths = cast(Any, CrossplanService).openapi_spec.asdict()["paths"]
    routes: list[tuple[Any, str]] = [(compile_path(path)[0], path) for path in paths]
    for route in _PAGE.routes:
        if isinstance(route, Mount):
            prefix = route.path.rstrip("/")
            routes.append((compile_path(prefix + "/{path:path}")[0], prefix + "/{path}"))
        elif isinstance(route, Route):
            routes.append((route.path_regex, route.path))
    for path in ("/docs.json", "/schema.json"):
        routes.append((compile_path(path)[0], path))
    return routes


def _healthy(snapshot: Snapshot) -> bool:
    return snapshot.model is not None and not snapshot.model.degraded
