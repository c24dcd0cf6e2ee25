"""Prometheus metrics of the planning service, served on ``/metrics`` to admins.

They are created on first use, inside the worker: BentoML points ``prometheus_client`` at its
multi-process directory only after the service module is imported, and metrics made before
that would never reach ``/metrics``.

BentoML's own request metrics are turned off (see :mod:`serving.service`): they label every
request by its raw path, so anyone could grow ``/metrics`` (and the worker) without bound by
asking for random paths. :class:`RouteMetricsMiddleware` counts requests by *route template*
(``/plans/{plan_id}``), with every path that matches no route counted as ``unmatched``, so
the number of series is fixed by the code, not by the callers.

Where ``/metrics`` is served is configured by ``CROSSPLAN_METRICS``: ``admin`` (default) on the
service's port to admin keys, or ``PORT`` / ``HOST:PORT`` on a separate listener (loopback
unless a host is given) for a local scraper, and then not on the service's port.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "UNMATCHED",
    "Metrics",
    "RouteMetricsMiddleware",
    "call_watched",
    "metrics",
    "metrics_text",
    "start_metrics_listener",
]

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Metrics:
    """The service's own metrics."""

    plans: Any
    solve_seconds: Any
    model_info: Any
    auth_failures: Any
    requests: Any
    request_seconds: Any
    plans_refused: Any

    def show_model(self, new: dict[str, str] | None, old: dict[str, str] | None) -> None:
        """Point the model gauge at the ``new`` labels, clearing ``old``."""
        if old is not None and old != new:
            self.model_info.labels(**old).set(0)
        if new is not None:
            self.model_info.labels(**new).set(1)


@functools.cache
def metrics() -> Metrics:
    """The metrics, created on the first call."""
    import prometheus_client as prom

    return Metrics(
        plans=prom.Counter(
            "crossplan_plans",
            "Plans made, by solver status and solver",
            ["status", "solver"],
        ),
        solve_seconds=prom.Histogram(
            "crossplan_plan_solve_seconds",
            "Solver time per plan",
            ["solver"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
        ),
        model_info=prom.Gauge(
            "crossplan_model_info",
            "1 for the served model (labels: name, version, source, degraded), 0 for earlier ones",
            ["name", "version", "source", "degraded"],
            multiprocess_mode="livemostrecent",
        ),
        auth_failures=prom.Counter(
            "crossplan_auth_failures",
            "Requests refused: missing or unknown key (401), role not allowed (403)",
            ["status"],
        ),
        requests=prom.Counter(
            "crossplan_http_requests",
            "Requests answered, by route template (unmatched: no route), method and status",
            ["route", "method", "status"],
        ),
        request_seconds=prom.Histogram(
            "crossplan_http_request_seconds",
            "Time to answer a request, by route template",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0),
        ),
        plans_refused=prom.Counter(
            "crossplan_plans_refused",
            "Plan requests refused before planning: too large (400) or queue full (429)",
            ["reason"],
        ),
    )


async def call_watched(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    answered: Callable[[int, float], None],
) -> None:
    """Call ``app``, then ``answered(status, seconds)``, also when the app fails (status 500
    when it failed before it answered)."""
    started = time.perf_counter()
    status = 500

    async def watched(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        await app(scope, receive, watched)
    finally:
        answered(status, time.perf_counter() - started)


class RouteMetricsMiddleware:
    """Count and time every HTTP request by the template of the route it matched.

    ``routes()`` gives ``(compiled path regex, template)`` pairs; it is called once, on the
    first request, when every app is mounted.
    """

    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[tuple[re.Pattern[str], str]]]):
        self.app = app
        self._routes_of = routes
        self._routes: list[tuple[re.Pattern[str], str]] | None = None

    def template(self, path: str) -> str:
        """The route template ``path`` matches, or :data:`UNMATCHED`."""
        if self._routes is None:
            self._routes = list(self._routes_of())
        for pattern, template in self._routes:
            if pattern.match(path):
                return template
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def count(status: int, seconds: float) -> None:
            route = self.template(scope["path"])
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            m = metrics()
            m.requests.labels(route=route, method=method, status=str(status)).inc()
            m.request_seconds.labels(route=route).observe(seconds)

        await call_watched(self.app, scope, receive, send, count)


def metrics_text() -> tuple[bytes, str]:
    """The Prometheus exposition of every metric of the process, and its media type."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    client = BentoMLContainer.metrics_client.get()
    return client.generate_latest(), client.CONTENT_TYPE_LATEST


def start_metrics_listener(host: str, port: int) -> None:
    """Serve :func:`metrics_text` on ``http://host:port/metrics`` from a daemon thread."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            body, media_type = metrics_text()
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # scrapes are not worth a log line
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
