"""ASGI middleware of the API: the key check, the body size limit, and the access log.

The key is checked, by Starlette's :class:`~starlette.middleware.authentication.
AuthenticationMiddleware` with :class:`~serving.auth.KeyBackend`, before anything reads the
body, so a caller without a valid key learns nothing but 401. Which role may call which
endpoint is decided by the endpoint itself (:func:`serving.deps.require`), from the
:class:`~serving.auth.Principal` Starlette leaves in ``request.user``.

:class:`AccessLogMiddleware` wraps the whole service and writes one line per request, naming
the key holder (never the key) that Starlette left in the request's scope; what a caller
controls in that line is escaped by :mod:`serving.logs`, and the secrets a caller put in the
request line (a key in the query string) are written ``***``, here and by the log's handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.authentication import AuthenticationError
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossplan.serving.auth import KeysUnavailable
from crossplan.serving.http_errors import error_body, routing_error
from crossplan.serving.logs import redact_secrets
from crossplan.serving.telemetry import call_watched, metrics

__all__ = [
    "AccessLogMiddleware",
    "BodyLimitMiddleware",
    "JSONRoutingErrorsMiddleware",
    "TimeoutMiddleware",
    "refuse_key",
]

access_log = logging.getLogger("crossplan.serving.access")


def refuse_key(_: HTTPConnection, exc: AuthenticationError) -> JSONResponse:
    """The answer to a request whose key is missing or unknown (401), or cannot be checked."""
    if isinstance(exc, KeysUnavailable):
        return JSONResponse(error_body(str(exc)), 503)
    metrics().auth_failures.labels(status="401").inc()
    return JSONResponse(
        error_body(str(exc)), 401, headers={"WWW-Authenticate": 'Bearer realm="crossplan"'}
    )


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` (413), by header or by counting.

    The body is read here in full (it is bounded) and replayed to the app, so the app never
    sees a body that is too large, whatever it does with a failed read. (Starlette has no
    such limit of its own.)
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        chunks.clear()  # one copy of the body while the app runs, not two
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_bytes // (1024 * 1024)
        response = JSONResponse(
            error_body(f"request body over {limit} MiB: send a smaller body"), 413
        )
        await response(scope, receive, send)


class AccessLogMiddleware:
    """One INFO line per HTTP request: client, method, path, status, time and key holder,
    with the secrets of the query redacted (:func:`~serving.logs.redact_secrets`).

    ``skip`` paths (the health probes) are not logged.
    """

    def __init__(self, app: ASGIApp, skip: tuple[str, ...] = ()) -> None:
        self.app = app
        self.skip = frozenset(skip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip:
            await self.app(scope, receive, send)
            return

        def log(status: int, seconds: float) -> None:
            client = scope.get("client") or ("-", 0)
            target = scope["path"]
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            user = scope.get("user")
            holder = (
                getattr(user, "name", None) if getattr(user, "is_authenticated", False) else None
            )
            access_log.info(
                '%s:%s "%s %s" %d %.1fms key=%s',
                client[0],
                client[1],
                scope["method"],
                redact_secrets(target),
                status,
                1000 * seconds,
                holder or "-",
            )

        await call_watched(self.app, scope, receive, send, log)


class JSONRoutingErrorsMiddleware:
    """The service's 404 and 405 for a path or method no route takes, as JSON.

    BentoML mounts the service's apps (API, page, OpenAPI document) in a Starlette app of its
    own, and a request none of them takes (a path with an encoded newline, which no mount
    matches; ``POST /healthz``) gets that app's plain-text ``Not Found`` or ``Method Not
    Allowed``. Every other error of the service, and what the OpenAPI document promises, is
    a JSON :class:`~serving.schemas.ErrorBody`: this turns those two into one, keeping the
    status and the ``Allow`` header.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None  # a plain-text 404 or 405 whose body is being replaced

        async def answer(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and _plain_routing_error(message):
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            if message.get("more_body", False):
                return
            allow = Headers(raw=held["headers"]).get("allow")
            response = JSONResponse(
                error_body(routing_error(held["status"], scope["method"], scope["path"], allow)),
                held["status"],
                headers=None if allow is None else {"Allow": allow},
            )
            await response(scope, receive, send)

        await self.app(scope, receive, answer)


def _plain_routing_error(start: Message) -> bool:
    if start["status"] not in (404, 405):
        return False
    return Headers(raw=start["headers"]).get("content-type", "").startswith("text/plain")


class TimeoutMiddleware:
    """504 when a request has not started its answer within ``timeout`` seconds.

    BentoML's own ``TimeoutMiddleware`` (``bentoml._internal.server.http.traffic``) does the
    same but never cancels its timer: every request leaves a timer holding a copy of the
    request's context for the whole ``timeout``, so memory grows with the request rate times
    the timeout (hundreds of MB at a thousand requests a second and a ten-minute timeout).
    This one cancels the timer as soon as the answer starts; :mod:`serving.service` puts it
    in BentoML's place. Same constructor, same answer.
    """

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started = loop.create_future()
        timer = loop.call_later(self.timeout, _expire, started)

        async def answer(message: Message) -> None:
            if not started.done():
                started.set_result(None)
                timer.cancel()
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, answer))
        try:
            await started
        except TimeoutError:
            if task.cancel():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                response = JSONResponse(
                    error_body(
                        f"no answer within {self.timeout:g} s — fix: retry later, or ask for less"
                    ),
                    504,
                )
                await response(scope, receive, send)
                return
        except asyncio.CancelledError:  # the server is stopping or the client left
            timer.cancel()
            task.cancel()
            raise
        await task


def _expire(started: asyncio.Future[None]) -> None:
    if not started.done():
        started.set_exception(TimeoutError())
