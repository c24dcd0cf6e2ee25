"""The planning service: forecasts and plans over HTTP, with keys and an audit trail.

``bentoml serve crossplan.serving.service:CrossplanService`` (or ``crossplan serve``). The service
connects to the shared database (panel versions, keys, plans, alerts, audit trail) and loads
the champion model in ``__init__``; it holds the snapshot (panel and model) every request
answers from, follows new submissions, and reloads the model. The endpoints are routers of
:mod:`serving.routes` on the app of :mod:`serving.api`; the instance attaches itself to that
app, where the endpoints' dependencies (:mod:`serving.deps`) find it. Each endpoint is a few
lines calling :mod:`serving.snapshot`, :mod:`serving.plan_process` (which calls
:mod:`optimize`), :mod:`pipelines.database.plans`, :mod:`serving.sharing` and
:mod:`serving.alerts`. A submission, through
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

import logging
import threading
import time
import weakref
from typing import Any, cast

import bentoml
import bentoml._internal.server.http.traffic as _bentoml_traffic
from starlette.requests import Request
from starlette.routing import Mount, Route, compile_path

from crossplan.pipelines.database import (
    AlertRecord,
    Database,
    PlanStore,
    latest_event_id,
    latest_submission,
    record_event,
    utcnow,
)
from crossplan.pipelines.errors import ConfigurationError, PanelBuildError
from crossplan.serving.api import api
from crossplan.serving.auth import KeyStore, Principal, bearer_token
from crossplan.serving.deps import attach, service_of
from crossplan.serving.http_errors import ReloadFailedError
from crossplan.serving.isolation import start_forkserver
from crossplan.serving.logs import configure_logging
from crossplan.serving.manual_examples import Examples, manual_examples
from crossplan.serving.middleware import (
    AccessLogMiddleware,
    JSONRoutingErrorsMiddleware,
    TimeoutMiddleware,
)
from crossplan.serving.openapi import openapi_app, operation_roles
from crossplan.serving.outbox import OutboxWorker
from crossplan.serving.page import page_app
from crossplan.serving.plan_process import PlanGate
from crossplan.serving.quarantine import quarantine
from crossplan.serving.routes import ROUTERS
from crossplan.serving.schemas import ModelCard, ReloadResponse
from crossplan.serving.security import SecurityHeadersMiddleware
from crossplan.serving.settings import Settings
from crossplan.serving.snapshot import (
    Snapshot,
    UnforecastablePanelError,
    confirmed,
    load_snapshot,
    refreshed,
)
from crossplan.serving.telemetry import (
    RouteMetricsMiddleware,
    metrics,
    start_metrics_listener,
)

__all__ = ["CrossplanService"]

log = logging.getLogger(__name__)

for _router in ROUTERS:
    api.include_router(_router)

_PAGE = page_app()


def _served_examples(request: Request) -> Examples:
    """The manual's examples for the request's key, on the panel and settings of the running
    service: none without a valid key, before the service runs, while its keys cannot be
    read or its panel does not build (:mod:`serving.manual_examples`)."""
    token = bearer_token(request.headers)
    if token is None:
        return {}
    try:
        svc = service_of(request.app)
        who = svc.keys.current().authenticate(token)
        dataset = svc.current().dataset if who is not None else None
    except (RuntimeError, PanelBuildError, ConfigurationError):
        return {}
    if who is None or dataset is None:
        return {}
    allow = svc.settings.webhook_allow
    return manual_examples(dataset.resources, dataset.frequency, allow, utcnow(), who)


_MANUAL = openapi_app(
    lambda: cast(Any, CrossplanService).openapi_spec.asdict(),
    lambda: operation_roles(route for router in ROUTERS for route in router.routes),
    _served_examples,
)
# Submissions set aside in one go before the service says it is not ready instead.
_MAX_QUARANTINES = 5
#: The audit events after which every replica loads the champion again.
CHAMPION_EVENTS = ("promotion", "reload")
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
@bentoml.asgi_app(_MANUAL, path="/", name="openapi")
class CrossplanService:
    """Connects to the shared database, loads the panel and model; follows new submissions."""

    def __init__(self) -> None:
        configure_logging()
        self.settings = Settings.from_env()
        if self.settings.metrics is not None:
            start_metrics_listener(*self.settings.metrics)
        self.plan_gate = PlanGate(self.settings.plan_slots, self.settings.plan_queue)
        start_forkserver()  # plans run in its children; the first one should not wait for it
        self.db = Database.connect(self.settings.database_url)  # down: the start fails, saying so
        self.keys = KeyStore(self.db)
        self.store = PlanStore(self.db)
        # Raises the alerts submissions owe and posts them to webhooks, from the database: a
        # replica that dies leaves them to another (started once the snapshot serves).
        self.outbox = OutboxWorker.of(self)
        self._reload_lock = threading.Lock()
        self._panel_lock = threading.Lock()
        self._db_checked = (0.0, True)
        # Why the latest panel does not serve (it does not build, or it cannot be forecast and
        # nothing could be set aside), and the latest submission it was tried at: the last
        # good snapshot keeps serving and the service says it is not ready.
        self._unbuildable: Exception | None = None
        self._failed_at = 0
        # A local copy of the champion serves at once; MLflow is asked about it meanwhile.
        self.snapshot: Snapshot = load_snapshot(self.settings, self.db, copy_first=True)
        self._show_model(None)
        self._say_what_serves()
        self.current()  # a database whose latest panel does not build starts not ready
        if self.snapshot.model is not None and not self.snapshot.model.confirmed:
            threading.Thread(target=self._confirm, name="confirm-champion", daemon=True).start()
        # When the instance goes, or the worker exits: let the webhook posts in flight end and
        # close the database's connections. (Not a BentoML shutdown hook: BentoML calls those
        # on whatever instance is current, which is none after a second app lifespan ends.)
        # Promotions and reloads made elsewhere (the CLI, another replica) are followed.
        self._watched = latest_event_id(self.db, CHAMPION_EVENTS)
        self._stop = threading.Event()
        if self.settings.model_watch > 0:
            threading.Thread(
                target=_watch_champion,
                args=(weakref.ref(self), self._stop),
                name="watch-champion",
                daemon=True,
            ).start()
        self.outbox.start()
        weakref.finalize(self, _close, self.outbox, self.db, self._stop)
        attach(api, self)  # the endpoints' dependencies find it there (serving.deps)
        attach(_MANUAL, self)  # and the manual its examples (_served_examples)

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

        Every new panel is forecast before it serves. When the model cannot forecast it, the
        last good snapshot keeps serving and the submission that broke it is set aside
        (:mod:`serving.quarantine`), so the next panel, without it, serves at once. When the
        latest panel does not build (:class:`PanelBuildError`), or no submission can be set
        aside, the last good snapshot keeps serving and the service is not ready until a
        later submission (a revert, a correction) gives a panel that serves; each failing
        submission is tried, and logged, once.
        """
        snapshot = self.snapshot
        latest = latest_submission(self.db)
        if latest in (snapshot.panel.last_submission, self._failed_at):
            return snapshot
        with self._panel_lock:
            latest = latest_submission(self.db)
            if latest not in (self.snapshot.panel.last_submission, self._failed_at):
                self._follow(latest)
            return self.snapshot

    def _follow(self, latest: int) -> None:
        """Serve the database's latest panel, setting aside what the model cannot forecast
        (under the panel's lock)."""
        for _ in range(_MAX_QUARANTINES):
            try:
                self.snapshot = refreshed(self.snapshot, self.db)
            except PanelBuildError as err:
                log.error(
                    "%s — still serving the panel as of %s", err, self.snapshot.panel.as_of_iso
                )
                self._unbuildable, self._failed_at = err, latest
                return
            except UnforecastablePanelError as err:
                found = quarantine(self.db, self.snapshot, err)
                if found is None:
                    log.error(
                        "the model cannot forecast the panel with submission %s, which cannot "
                        "be set aside — still serving the panel as of %s; fix: revert it "
                        "(crossplan submissions revert %s)",
                        latest, self.snapshot.panel.as_of_iso, latest,
                    )  # fmt: skip
                    self._unbuildable, self._failed_at = err, latest
                    return
                self.outbox.wake()  # its alerts' posts are owed with it
                latest = latest_submission(self.db)
            else:
                self._unbuildable, self._failed_at = None, 0
                return

    def announce(self, alerts: list[AlertRecord]) -> None:
        """Owe the posts of stored alerts to the webhooks of their audiences; the outbox
        posts them."""
        self.outbox.owe(alerts)

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

    def reload(self, who: Principal) -> ReloadResponse:
        """Load the current champion and panel (``POST /admin/reload``); keep what serves
        when the new model is worse off (:class:`ReloadFailedError`). Every other replica
        follows (:meth:`follow_champion`)."""
        old, new = self._load_champion()
        previous = None if old.model is None else old.model.card["version"]
        card = new.card()
        log.info("'%s' reloaded the model: %s -> %s", who.name, previous, card["version"])
        record_event(
            self.db, who.name, "reload", previous_version=previous, version=card["version"]
        )
        self._watched = max(self._watched, latest_event_id(self.db, CHAMPION_EVENTS))
        return ReloadResponse(previous_version=previous, model=ModelCard(**card))

    def follow_champion(self) -> bool:
        """Load the champion again when it was promoted or reloaded elsewhere since the last
        look (``crossplan promote``, ``crossplan train``, another replica's reload): every
        replica of a shared database serves the same champion within
        ``CROSSPLAN_MODEL_WATCH`` seconds. Whether it looked again."""
        seen = latest_event_id(self.db, CHAMPION_EVENTS)
        if seen <= self._watched:
            return False
        self._watched = seen
        try:
            old, new = self._load_champion()
        except ReloadFailedError as err:
            log.warning("a new champion was announced, but: %s", err)
            return True
        previous = None if old.model is None else old.model.card["version"]
        log.info("following the champion: %s -> %s", previous, new.card()["version"])
        return True

    def _load_champion(self) -> tuple[Snapshot, Snapshot]:
        """Load the champion and the panel and serve them; what served before, and now.

        Raises
        ------
        ReloadFailedError
            The new model is worse off than the one serving, which stays.
        """
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
        return old, new


def _watch_champion(service: weakref.ref[CrossplanService], stop: threading.Event) -> None:
    """Look for a champion promoted or reloaded elsewhere, every ``model_watch`` seconds,
    until ``stop`` is set or the service is gone."""
    while True:
        svc = service()
        if svc is None:
            return
        interval = svc.settings.model_watch
        try:
            svc.follow_champion()
        except Exception:  # the database may be down for a while: look again later
            log.exception("could not look for a new champion")
        del svc
        if stop.wait(interval):
            return


# On the whole service, so BentoML's own routes (/docs.json, /metrics, ...) get the headers
# too. bentoml.service is typed as returning the class; it returns a bentoml.Service.
cast(Any, CrossplanService).add_asgi_middleware(
    SecurityHeadersMiddleware, tile_url=Settings.from_env().tile_url
)
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


def _close(outbox: OutboxWorker, db: Database, stop: threading.Event) -> None:
    stop.set()
    outbox.close()
    db.dispose()


def _healthy(snapshot: Snapshot) -> bool:
    """Worth keeping over a degraded model: the champion, or a start's copy that MLflow has
    not been asked about yet (its confirmation keeps it if MLflow gives nothing better)."""
    model = snapshot.model
    return model is not None and (not model.degraded or not model.confirmed)
