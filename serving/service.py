"""The planning service: forecasts and plans over HTTP, with keys and an audit trail.

``bentoml serve serving.service:CrossplanService`` (or ``crossplan serve``). The service
connects to the shared database (panel versions, keys, plans, alerts, audit trail) and loads
the champion model in ``__init__``; each endpoint is a few lines calling
:mod:`serving.forecasts`, :mod:`serving.planning` (which calls :mod:`optimize`),
:mod:`serving.store`, :mod:`serving.sharing` and :mod:`serving.alerts`. A submission, through
this replica or another one sharing the database, moves the next request to the new panel.
BentoML adds ``/healthz`` and ``/readyz`` (ready once a model is loaded), which need no key.
The OpenAPI document ``/docs.json`` is BentoML's, made honest by :mod:`serving.openapi`;
``/metrics`` is served to admins, or on a separate local port (:mod:`serving.telemetry`), and
BentoML's own request metrics and access log are replaced by ones that cannot be grown or
forged by callers (:mod:`serving.middleware`, :mod:`serving.logs`).
The home page ``/`` is the planners' map and ``/docs`` the manual that documents every field
(:mod:`serving.page`); :mod:`serving.security` keeps everything served to this origin.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Annotated, Any, Literal, cast, get_args, get_origin

import anyio.to_thread
import bentoml
import bentoml._internal.server.http.traffic as _bentoml_traffic
import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Mount, Route, compile_path

from optimize.resources import Resources
from pipelines.database import (
    Database,
    Submitter,
    audit_trail,
    latest_submission,
    record_event,
    submit_incidents,
)
from pipelines.errors import CrossplanError, DataValidationError, PanelBuildError, Problem
from serving.alerts import audiences, detect_alerts, list_alerts, store_alerts
from serving.auth import KeyBackend, KeyRing, KeyStore, Permission, Principal, Role
from serving.errors import (
    PlanNotFoundError,
    PlansBusyError,
    ReloadFailedError,
    error_body,
    problems_from_pydantic,
    problems_from_validation,
    routing_error,
    status_of,
)
from serving.forecasts import Snapshot, check_names, confirmed, load_snapshot, refreshed
from serving.geojson import plan_feature_collection
from serving.isolation import start_forkserver
from serving.logs import configure_logging
from serving.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    JSONRoutingErrorsMiddleware,
    TimeoutMiddleware,
    refuse_key,
)
from serving.openapi import openapi_app
from serving.page import page_app, tile_url
from serving.planning import PlanGate, plan_on_snapshot
from serving.routing import CompactBodyRoute
from serving.schemas import (
    MAX_BODY_BYTES,
    AlertItem,
    AlertList,
    AuditItem,
    AuditList,
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
    SubmissionResponse,
    WebhookItem,
    WebhookList,
    WebhookRequest,
    WhoAmI,
)
from serving.security import SecurityHeadersMiddleware
from serving.settings import Settings
from serving.sharing import FORECAST_SCOPE, Audience, SharingPolicy, check_outside
from serving.store import PlanStore
from serving.submissions import read_submission
from serving.telemetry import (
    RouteMetricsMiddleware,
    metrics,
    metrics_listener,
    metrics_text,
    start_metrics_listener,
)
from serving.views import DEFAULT_OBSERVED_PERIODS, regions_collection
from serving.webhooks import WebhookSender, add_webhook, delete_webhook, list_webhooks, webhooks

__all__ = ["CrossplanService", "api", "require"]

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


async def _anyone(request: Request, _: Annotated[Any, Depends(_bearer)]) -> Principal:
    principal: Principal = request.user
    return principal


Anyone = Annotated[Principal, Depends(_anyone)]
Reporter = Annotated[Principal, Depends(require(Permission.SUBMIT))]
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
    """Connects to the shared database, loads the panel and model; follows new submissions."""

    def __init__(self) -> None:
        configure_logging()
        listener = metrics_listener()
        if listener is not None:
            start_metrics_listener(*listener)
        self.plan_gate = PlanGate.from_env()
        start_forkserver()  # plans run in its children; the first one should not wait for it
        self.settings = Settings.from_env()
        self.db = Database.connect(self.settings.database_url)  # down: the start fails, saying so
        self.keys = KeyStore(self.db)
        self.store = PlanStore(self.db)
        # Each delivery checks the webhook's key and address again, and is audited.
        self.webhooks = WebhookSender(self.db, self.settings.webhook_allow)
        self._reload_lock = threading.Lock()
        self._panel_lock = threading.Lock()
        self._db_checked = (0.0, True)
        # The latest panel when it does not build, and the latest submission it was tried at:
        # the last good snapshot keeps serving and the service says it is not ready.
        self._unbuildable: PanelBuildError | None = None
        self._failed_at = 0
        # A local copy of the champion serves at once; MLflow is asked about it meanwhile.
        self.snapshot: Snapshot = load_snapshot(self.settings, self.db, copy_first=True)
        self._show_model(None)
        self._say_what_serves()
        self.current()  # a database whose latest panel does not build starts not ready
        if self.snapshot.model is not None and not self.snapshot.model.confirmed:
            threading.Thread(target=self._confirm, name="confirm-champion", daemon=True).start()
        # When the instance goes, or the worker exits: let queued webhook posts go out and
        # close the database's connections. (Not a BentoML shutdown hook: BentoML calls those
        # on whatever instance is current, which is none after a second app lifespan ends.)
        weakref.finalize(self, _close, self.webhooks, self.db)

    def __is_ready__(self) -> bool:
        # Not ready without a model, nor when the database stops answering, nor when its latest
        # panel does not build: better no answer than forecasts from a panel that can no longer
        # take submissions, or that is not the database's.
        if self._unbuildable is not None and self._database_answers():
            self.current()  # a later submission (a revert) may give a panel that builds
        return (
            self.snapshot.model is not None
            and self._unbuildable is None
            and self._database_answers()
        )

    def _database_answers(self) -> bool:
        checked_at, ok = self._db_checked
        if time.monotonic() - checked_at > 1.0:
            ok = self.db.ping()
            self._db_checked = (time.monotonic(), ok)
        return ok

    def current(self) -> Snapshot:
        """The snapshot on the database's latest panel (rebuilt after any new submission).

        When the latest panel does not build (:class:`PanelBuildError`), the last good
        snapshot keeps serving and the service is not ready until a later submission (a
        revert, a correction) gives a panel that builds; each failing submission is tried,
        and logged, once.
        """
        snapshot = self.snapshot
        latest = latest_submission(self.db)
        if latest in (snapshot.panel.last_submission, self._failed_at):
            return snapshot
        with self._panel_lock:
            latest = latest_submission(self.db)
            if latest not in (self.snapshot.panel.last_submission, self._failed_at):
                try:
                    self.snapshot = refreshed(self.snapshot, self.db)
                except PanelBuildError as err:
                    log.error(
                        "%s — still serving the panel as of %s", err, self.snapshot.panel.as_of_iso
                    )
                    self._unbuildable, self._failed_at = err, latest
                else:
                    self._unbuildable, self._failed_at = None, 0
            return self.snapshot

    def policy(self, who: Principal, snapshot: Snapshot | None = None) -> SharingPolicy:
        """What ``who`` may read of ``snapshot`` (default: the current one)."""
        panel = (snapshot or self.current()).panel
        s = self.settings
        return SharingPolicy(panel, Audience.of(who), s.suppress_below, s.min_total)

    def _show_model(self, old: Snapshot | None) -> None:
        metrics().show_model(
            self.snapshot.model_labels(), None if old is None else old.model_labels()
        )

    def _say_what_serves(self) -> None:
        card = self.snapshot.card()
        log.info("%s", card["reason"] or f"serving model version {card['version']}")

    def _confirm(self) -> None:
        """Ask MLflow for the champion after a start on the local copy, and serve what it
        gives: the champion, or the copy again, degraded and saying why."""
        try:
            asked = load_snapshot(self.settings, self.db)
        except Exception as err:  # the panel could not be read again: keep what serves
            log.exception("could not load the panel and the champion again")
            asked = Snapshot(self.snapshot.panel, self.snapshot.source, None, str(err))
        with self._reload_lock, self._panel_lock:
            old = self.snapshot
            if old.model is None or old.model.confirmed:
                return  # a reload came first
            self.snapshot = confirmed(old, asked)
            self._show_model(old)
        self._say_what_serves()

    @api.post(
        "/forecast",
        response_model=ForecastResponse,
        responses={**_ERRORS, **_BAD_REQUEST},
        summary="Forecast activity per region, category and period (role: planner)",
    )
    async def forecast(self, body: ForecastRequest, who: Planner) -> Response:
        snapshot = await anyio.to_thread.run_sync(self.current)
        model = snapshot.require_model()
        policy = self.policy(who, snapshot)
        view = policy.audience
        # A question asked before is answered on the event loop; a new one off it.
        content = model.cached_answer(body.horizon, body.regions, body.categories, view)
        if content is None:
            check_outside(policy, body.regions, "regions")
            about = snapshot.about_data()
            if not view.operator:
                about["warnings"] = [*about["warnings"], FORECAST_SCOPE]
            content = await anyio.to_thread.run_sync(
                lambda: model.answer(
                    policy.dataset(),
                    body.horizon,
                    body.regions,
                    body.categories,
                    about,
                    view=view,
                    shown=policy.forecast,
                )
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
        snapshot = self.current()
        policy = self.policy(who, snapshot)
        outcome = plan_on_snapshot(snapshot, body, who, started, self.plan_gate, policy)
        # The requester reads its plan as it would read it stored.
        response = policy.plan(outcome.record.response, who.country)
        self.store.add(outcome.record)
        record_event(
            self.db,
            who.name,
            "plan",
            plan_id=outcome.record.plan_id,
            status=outcome.record.status,
            countries=list(outcome.record.countries),
            agency=who.agency,
            country=who.country,
        )
        m = metrics()
        m.plans.labels(status=outcome.record.status, solver=body.solver).inc()
        if outcome.record.solve_seconds is not None:
            m.solve_seconds.labels(solver=body.solver).observe(outcome.record.solve_seconds)
        if not outcome.feasible:
            return JSONResponse(
                error_body(
                    "no plan meets every constraint; see the diagnosis",
                    diagnosis=response["diagnosis"],
                    plan_id=outcome.record.plan_id,
                ),
                422,
            )
        return response

    @api.get(
        "/plans",
        response_model=PlanList,
        responses=_ERRORS,
        summary="Recent plans, newest first (role: analyst)",
    )
    def plans(
        self,
        who: Reader,
        limit: Annotated[int, Query(ge=1, le=1000, description="How many plans")] = 50,
        requester: Annotated[
            str | None, Query(max_length=64, description="Only this key holder's plans")
        ] = None,
    ) -> PlanList:
        found = self.store.recent(limit, requester, country=who.country)
        return PlanList(plans=[PlanListItem(**vars(s)) for s in found])

    @api.get(
        "/plans/{plan_id}",
        response_model=PlanResponse,
        responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No plan has this id"}},
        summary="A stored plan (role: analyst)",
    )
    def get_plan(self, plan_id: str, who: Reader) -> dict[str, Any]:
        return self._readable_plan(plan_id, who)

    @api.get(
        "/plans/{plan_id}/geojson",
        response_model=FeatureCollection,
        responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No plan has this id"}},
        summary="A stored plan as GeoJSON: risk, effort, interdictions per period (role: analyst)",
    )
    def get_plan_geojson(self, plan_id: str, who: Reader) -> JSONResponse:
        # Regions the plan does not show to this key keep their shape and no figures.
        plan = self._readable_plan(plan_id, who)
        collection = plan_feature_collection(plan, self.current().dataset)
        return JSONResponse(collection, media_type="application/geo+json")

    @api.get(
        "/me",
        response_model=WhoAmI,
        responses=_ERRORS,
        summary="Who holds this key, its agency, and what it may do (any role)",
    )
    def me(self, who: Anyone) -> WhoAmI:
        may = [p.value for p in Permission if who.may(p)]
        shown = self.policy(who).region_level
        return WhoAmI.model_validate(
            {
                "name": who.name,
                "role": who.role.value,
                "country": who.country,
                "agency": who.agency,
                "may": may,
                "region_level": None if shown is None else sorted(shown),
            }
        )

    @api.get(
        "/regions",
        response_model=FeatureCollection,
        responses=_ERRORS,
        summary="The served regions as GeoJSON: region_id, country, name, kind (any role)",
    )
    def regions(self, _: Anyone) -> JSONResponse:
        return JSONResponse(
            regions_collection(self.current().dataset), media_type="application/geo+json"
        )

    @api.get(
        "/observed",
        response_model=ObservedCounts,
        responses=_ERRORS,
        summary="Recent observed counts of the regions this key reads region by region (role: analyst)",
    )
    def observed(
        self,
        who: Reader,
        periods: Annotated[
            int, Query(ge=1, le=520, description="How many of the latest periods")
        ] = DEFAULT_OBSERVED_PERIODS,
    ) -> JSONResponse:
        return JSONResponse(self.policy(who).observed(periods))

    @api.get(
        "/resources",
        response_model=Resources,
        responses={
            **_ERRORS,
            404: {"model": ErrorBody, "description": "The data directory has no resources.json"},
        },
        summary="The served data directory's units, agreements, joint operations and policy (role: analyst)",
    )
    def resources(self, who: Reader) -> Resources:
        policy = self.policy(who)
        resources = policy.panel.dataset.resources
        if resources is None:
            raise HTTPException(
                404,
                "the served data directory has no resources.json — fix: add one, or send "
                "'resources' with each POST /plan",
            )
        return policy.resources(resources)

    def _readable_plan(self, plan_id: str, who: Principal) -> dict[str, Any]:
        """A stored plan as ``who`` may read it; 404 alike for no plan and another's plan."""
        record = self.store.get(plan_id)
        policy = self.policy(who)
        if record is None or not policy.reads_plan(record.country, record.countries):
            raise PlanNotFoundError(
                f"no plan with id '{plan_id}' that your key may read — fix: GET /plans lists "
                "the plans it may read"
            )
        return policy.plan(record.response, record.country)

    @api.get(
        "/model",
        response_model=ModelCard,
        responses=_ERRORS,
        summary="The served model, its backtest metrics, and whether the service is degraded (role: analyst)",
    )
    def model(self, who: Reader) -> ModelCard:
        snapshot = self.current()
        return ModelCard(**self.policy(who, snapshot).card(snapshot.card()))

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
            new = load_snapshot(self.settings, self.db)
            if _healthy(old) and not _healthy(new):
                raise ReloadFailedError(
                    f"{new.card()['reason']} — still serving version {old.card()['version']}; "
                    "fix: check the MLflow store, then reload again"
                )
            # One reference swap: requests in flight keep the snapshot they started with.
            # (Under the panel's lock too, so that no refresh puts the old model back.)
            with self._panel_lock:
                self.snapshot = new
                self._show_model(old)
        previous = None if old.model is None else old.model.card["version"]
        card = new.card()
        log.info("'%s' reloaded the model: %s -> %s", who.name, previous, card["version"])
        record_event(
            self.db, who.name, "reload", previous_version=previous, version=card["version"]
        )
        return ReloadResponse(previous_version=previous, model=ModelCard(**card))

    @api.post(
        "/submissions",
        response_model=SubmissionResponse,
        responses={
            **_ERRORS,
            400: {"model": ErrorBody, "description": "Every problem, with its row and column"},
        },
        summary="Submit incident rows of your country: CSV, Parquet or JSON rows (role: reporter)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/vnd.apache.parquet": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                    "application/json": {
                        "schema": {"type": "object", "properties": {"rows": {"type": "array"}}}
                    },
                },
            }
        },
    )
    async def submit(
        self,
        request: Request,
        who: Reporter,
        file: Annotated[
            str | None, Query(max_length=200, description="The file's name, for problems")
        ] = None,
    ) -> SubmissionResponse:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        return await anyio.to_thread.run_sync(self._submit, body, content_type, file, who)

    def _submit(
        self, body: bytes, content_type: str, file: str | None, who: Principal
    ) -> SubmissionResponse:
        raw, name, row_of = read_submission(body, content_type, file)
        before = self.current()
        result = submit_incidents(
            self.db,
            raw,
            file=name,
            row_of=row_of,
            submitter=Submitter(who.name, who.agency, who.country, admin=who.role is Role.ADMIN),
        )
        raised = 0
        if not result.duplicate:
            after = self.current()
            raised = self._alert(before, after, result.submission_id, who)
        return SubmissionResponse(**result.to_dict(), alerts=raised)

    def _alert(
        self, before: Snapshot, after: Snapshot, submission_id: int, submitter: Principal
    ) -> int:
        """Raise, store and post the alerts of a submission, for every audience; a failure
        never undoes it. The submitter's own alerts are counted."""
        try:
            prov = after.panel.provenance
            mine = prov["submission_id"] == submission_id
            cells = after.dataset.incidents[mine.to_numpy()]
            observed = cells[["region_id", "category", "period"]].assign(
                observed=after.dataset.observed()[mine.to_numpy()].astype("float64")
            )
            raised: dict[str, list[Any]] = {}
            for audience in audiences(self.db):
                s = self.settings
                policies = (
                    SharingPolicy(before.panel, audience, s.suppress_below, s.min_total),
                    SharingPolicy(after.panel, audience, s.suppress_below, s.min_total),
                )
                found = detect_alerts(before, after, observed.dropna(), submission_id, policies)
                raised[audience.label] = store_alerts(self.db, found)
            for hook in webhooks(self.db):
                label = Audience.of(hook.owner()).label
                for alert in raised.get(label, ()):
                    self.webhooks.send(hook, {"alert": alert.to_dict()})
            return len(raised.get(Audience.of(submitter).label, ()))
        except Exception:
            log.exception("could not raise the alerts of submission %s", submission_id)
            return 0

    @api.get(
        "/incidents",
        responses={**_ERRORS, 200: {"content": {"text/csv": {}, "application/json": {}}}},
        summary="The shared panel as this key may read it: region rows, country totals, "
        "small counts suppressed (role: analyst)",
    )
    def incidents(
        self,
        who: Reader,
        region: Annotated[list[str] | None, Query(description="Only these regions")] = None,
        category: Annotated[list[str] | None, Query(description="Only these categories")] = None,
        start: Annotated[str | None, Query(description="First period, YYYY-MM-DD")] = None,
        end: Annotated[str | None, Query(description="Last period, YYYY-MM-DD")] = None,
        format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
    ) -> Response:
        snapshot = self.current()
        check_names(snapshot.dataset, region, category, fields=("region", "category"))
        policy = self.policy(who, snapshot)
        frame = policy.incidents(region, category, _date(start, "start"), _date(end, "end"))
        frame = frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d"))
        if format == "csv":
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False)
            return Response(buffer.getvalue(), media_type="text/csv")
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return JSONResponse({"as_of": snapshot.panel.as_of_iso, "rows": rows})

    @api.get(
        "/alerts",
        response_model=AlertList,
        responses=_ERRORS,
        summary="Risk alerts raised on this key's view, for the regions it reads region by "
        "region (any role)",
    )
    def alerts(
        self,
        who: Anyone,
        limit: Annotated[int, Query(ge=1, le=1000, description="How many alerts")] = 100,
    ) -> AlertList:
        found = list_alerts(self.db, Audience.of(who), limit)
        return AlertList(alerts=[AlertItem(**a.to_dict()) for a in found])

    @api.post(
        "/webhooks",
        response_model=WebhookItem,
        responses={**_ERRORS, **_BAD_REQUEST},
        summary="Post this agency's alerts to an https URL, signed when a secret is given "
        "(role: analyst)",
    )
    def register_webhook(self, body: WebhookRequest, who: Reader) -> WebhookItem:
        hook = add_webhook(
            self.db, who, body.url, secret=body.secret, allow=self.settings.webhook_allow
        )
        return WebhookItem(**hook.to_dict())

    @api.get(
        "/webhooks",
        response_model=WebhookList,
        responses=_ERRORS,
        summary="This agency's webhooks, every agency's for an operator key; URLs without "
        "their secrets (role: analyst)",
    )
    def webhook_list(self, who: Reader) -> WebhookList:
        return WebhookList(
            webhooks=[WebhookItem(**hook.to_dict()) for hook in list_webhooks(self.db, who)]
        )

    @api.delete(
        "/webhooks/{webhook_id}",
        response_model=WebhookItem,
        responses={
            **_ERRORS,
            404: {"model": ErrorBody, "description": "This agency has no webhook with this id"},
        },
        summary="Stop posting to a webhook of this agency; an admin's key, to any (role: analyst)",
    )
    def remove_webhook(
        self,
        webhook_id: Annotated[int, Path(ge=1, description="The webhook's id (GET /webhooks)")],
        who: Reader,
    ) -> WebhookItem:
        return WebhookItem(**delete_webhook(self.db, who, webhook_id).to_dict())

    @api.get(
        "/audit",
        response_model=AuditList,
        responses=_ERRORS,
        summary="Submissions, reverts, imports, exports, plans, webhooks, reloads, promotions, "
        "key changes: the audit trail, newest first (role: admin)",
    )
    def audit(
        self,
        _: Admin,
        limit: Annotated[int, Query(ge=1, le=1000, description="How many events")] = 100,
        action: Annotated[str | None, Query(max_length=32, description="Only this action")] = None,
    ) -> AuditList:
        return AuditList(events=[AuditItem(**vars(e)) for e in audit_trail(self.db, limit, action)])

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
cast(Any, CrossplanService).add_asgi_middleware(JSONRoutingErrorsMiddleware)
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


def _date(value: str | None, name: str) -> pd.Timestamp | None:
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


def _close(webhooks: WebhookSender, db: Database) -> None:
    webhooks.close()
    db.dispose()


def _healthy(snapshot: Snapshot) -> bool:
    """Worth keeping over a degraded model: the champion, or a start's copy that MLflow has
    not been asked about yet (its confirmation keeps it if MLflow gives nothing better)."""
    model = snapshot.model
    return model is not None and (not model.degraded or not model.confirmed)
