"""ASGI middleware of the API: the key check and the body size limit.

The key is checked before anything reads the body, so a caller without a valid key learns
nothing but 401. Which role may call which endpoint is decided by the endpoint itself
(:func:`serving.service.require`), from the :class:`~serving.auth.Principal` left in the
request's state here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipelines.errors import ConfigurationError
from serving.auth import KeyRing
from serving.errors import error_body
from serving.telemetry import metrics

__all__ = ["AuthMiddleware", "BodyLimitMiddleware", "send_json"]

log = logging.getLogger(__name__)


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Answer with a JSON body, straight on the ASGI channel."""
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class AuthMiddleware:
    """Refuse requests without a known ``Authorization: Bearer <key>`` (401).

    Parameters
    ----------
    app
        The API.
    keyring
        Returns the current keys (re-read when the keys file changes).
    """

    def __init__(self, app: ASGIApp, keyring: Callable[[], KeyRing]) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scheme, _, token = (Headers(scope=scope).get("authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            await self._refuse(
                send, "missing API key: send the header 'Authorization: Bearer <key>'"
            )
            return
        try:
            principal = self.keyring().authenticate(token)
        except ConfigurationError as err:
            log.error("cannot check API keys: %s", err)
            await send_json(
                send,
                503,
                error_body("the service cannot read its API keys file; tell its operator"),
            )
            return
        if principal is None:
            await self._refuse(
                send, "unknown API key: check the key, or ask for one (crossplan keys add)"
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(send: Send, message: str) -> None:
        metrics().auth_failures.labels(status="401").inc()
        await send_json(
            send, 401, error_body(message), {"WWW-Authenticate": 'Bearer realm="crossplan"'}
        )


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` (413), by header or by counting.

    The body is read here in full (it is bounded) and replayed to the app, so the app never
    sees a body that is too large, whatever it does with a failed read.
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
            await self._refuse(send)
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
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await send_json(
            send,
            413,
            error_body(
                f"request body over {self.max_bytes // (1024 * 1024)} MiB: send a smaller body"
            ),
        )
