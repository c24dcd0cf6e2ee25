"""Posting alerts to the webhooks agencies register, so that no receiver can hold up another,
reach into the operator's network, or find a secret in a log.

Which URLs are accepted is :mod:`serving.webhook_urls`; registering, listing and deleting an
agency's webhooks is :mod:`serving.webhook_registry`; the table is
:mod:`pipelines.database.webhooks`. This module delivers.

Registering
-----------
A webhook belongs to the agency of the key that registered it, and lasts as long as that key.
Any key of the agency may list and delete them, an admin any; a key of another agency is told
that no such webhook exists, so ids reveal nothing. Registering and deleting go to the audit
trail with the URL in its shown form (:func:`serving.webhook_urls.redact`), never the secret.

Delivery
--------
:meth:`WebhookSender.announce` sends each stored alert to the webhooks of its audience: risk
alerts after a submission, and the steps of joint operations to their parties' agencies.
Each webhook has a queue and a thread of its own (a *lane*), started by its first alert and
ended after :data:`IDLE_SECONDS` without one; :meth:`WebhookSender.send` only queues, and a
receiver that never answers holds up nothing but its own lane. A post waits at most
:data:`TIMEOUT_SECONDS` for each network step (connecting, sending, each read). A queue keeps
:data:`QUEUE_LENGTH` bodies: when it is full the *oldest* is dropped, counted, logged and
reported with the lane's next delivery. The newest alert says what the panel says now, so a
receiver coming back from an outage gets the latest alerts rather than a stale backlog.

Before every try the webhook must still exist and the key that registered it still hold (not
revoked, not replaced, not moved to another country or agency); otherwise its queue is emptied
and nothing is posted. Its URL is checked again and its host resolved again
(:func:`serving.webhook_urls.check_url`), and the post connects to the very address that
passed, with TLS checked against the host's name: a name made to resolve elsewhere after
registration (DNS rebinding) reaches nothing. Redirects are never followed: a ``3xx`` is a
failed delivery, as is any other ``4xx`` than 408, 425 and 429; those, a ``5xx`` and network
errors are retried with back-off (0.5 s, 1 s, 2 s, ... up to :data:`ATTEMPTS` tries). Every
delivery goes to the audit trail (action ``webhook_delivery``): the webhook, its shown URL,
agency and country, the outcome (``delivered``, ``failed``, ``refused``: the address is not
allowed, ``stopped``: the key went), the last HTTP status, the tries and the seconds.

Secrets
-------
A token in the URL's query is kept, with the URL as registered, in a column
(``delivery_url``) that only this module reads, to post. Everything else — responses,
listings, logs, the audit trail — has the shown form, each value of the query replaced by
``***`` (:func:`serving.webhook_urls.redact`). Encrypting the column would need a key kept
apart from the database, which crossplan does not have; whoever reads the database reads the
token, as they read the alerts themselves. The better way is a *secret*, given at
registration: each post then carries ``X-Crossplan-Signature: sha256=<hex>``, the
HMAC-SHA256 of the body under the secret (:func:`sign`), which the receiver recomputes to know
the post is crossplan's and unaltered, with no token in the URL at all. Signing needs the
secret itself, so it is stored as given and, like ``delivery_url``, never returned, listed,
logged nor audited: a listing says only whether a webhook signs.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import json
import logging
import math
import socket
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pipelines.database import (
    AlertRecord,
    Database,
    audience_label,
    record_event,
    stopped_because,
)
from pipelines.errors import DataValidationError
from serving.webhook_registry import WebhookTarget, webhooks
from serving.webhook_urls import (
    Destination,
    Resolver,
    UnresolvedHostError,
    check_url,
    resolve_host,
)

__all__ = [
    "ATTEMPTS",
    "IDLE_SECONDS",
    "QUEUE_LENGTH",
    "TIMEOUT_SECONDS",
    "WebhookSender",
    "sign",
]

ATTEMPTS = 6
QUEUE_LENGTH = 100
TIMEOUT_SECONDS = 5.0
IDLE_SECONDS = 60.0

_FIRST_DELAY_SECONDS = 0.5
# Answers that say "later", not "never".
_RETRY_STATUSES = frozenset({408, 425, 429})

log = logging.getLogger(__name__)


def sign(secret: str, body: bytes) -> str:
    """The ``X-Crossplan-Signature`` of ``body``: ``sha256=`` and the HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Outcome:
    outcome: str  # delivered | failed | refused | stopped
    status: int | None = None
    reason: str | None = None
    tries: int = 0


@dataclass(eq=False)
class _Lane:
    """One webhook's queue and the thread that empties it (guarded by the sender's lock)."""

    hook: WebhookTarget
    wake: threading.Condition
    pending: deque[bytes] = field(default_factory=deque)
    dropped: int = 0  # since the last delivery's audit record


class WebhookSender:
    """Posts JSON bodies to webhooks, one lane per webhook (see the module's description).

    Parameters
    ----------
    db
        The shared database: each try checks the webhook's key there, and each delivery is
        audited there. Without it nothing is posted, since no key can be checked.
    allow
        Hosts the operator allows plain http and private addresses for
        (``CROSSPLAN_WEBHOOK_ALLOW``).
    resolve
        Gives the addresses of a host name.
    timeout
        Seconds a post waits for each network step.
    queue_length
        Bodies a webhook's queue keeps; the oldest goes when a new one comes to a full queue.
    attempts
        Tries per body.
    first_delay
        Seconds before the first retry; doubled for each further one.
    idle
        Seconds a lane waits for a new body before its thread ends.
    """

    def __init__(
        self,
        db: Database | None = None,
        allow: Iterable[str] = (),
        *,
        resolve: Resolver = resolve_host,
        timeout: float = TIMEOUT_SECONDS,
        queue_length: int = QUEUE_LENGTH,
        attempts: int = ATTEMPTS,
        first_delay: float = _FIRST_DELAY_SECONDS,
        idle: float = IDLE_SECONDS,
    ) -> None:
        self._db = db
        self._allow = tuple(allow)
        self._resolve = resolve
        self._timeout = timeout
        self._queue_length = queue_length
        self._attempts = attempts
        self._first_delay = first_delay
        self._idle = idle
        self._lock = threading.Lock()
        self._lanes: dict[int, _Lane] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._counts: Counter[str] = Counter()
        self._closing = False
        self._deadline = math.inf
        self._stop = threading.Event()  # cuts back-off waits short when closing

    def send(self, hook: WebhookTarget, payload: dict[str, Any]) -> None:
        """Queue ``payload`` (as JSON) for ``hook``; returns at once."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._lock:
            if self._closing:
                self._counts["dropped"] += 1
                log.warning("an alert for webhook %d came as the service stops: dropped", hook.id)
                return
            lane = self._lanes.get(hook.id)
            if lane is None:
                lane = self._lanes[hook.id] = _Lane(hook, threading.Condition(self._lock))
                thread = threading.Thread(
                    target=self._drain, args=(lane,), name=f"crossplan-webhook-{hook.id}",
                    daemon=True,
                )  # fmt: skip
                self._threads[hook.id] = thread
                thread.start()
            lane.hook = hook
            if len(lane.pending) >= self._queue_length:
                lane.pending.popleft()
                lane.dropped += 1
                self._counts["dropped"] += 1
                log.warning("webhook %d (%s) is %d alerts behind: the oldest was dropped",
                            hook.id, hook.url, len(lane.pending) + 1)  # fmt: skip
            lane.pending.append(body)
            lane.wake.notify()

    def announce(self, alerts: Iterable[AlertRecord]) -> None:
        """Queue each alert for the webhooks of the reader it was raised for (its audience:
        an agency's, or the operator's); returns at once. Alerts are stored before they are
        announced: a failure here loses posts, never alerts."""
        by_audience: dict[str, list[AlertRecord]] = {}
        for alert in alerts:
            by_audience.setdefault(alert.audience, []).append(alert)
        if not by_audience or self._db is None:
            return
        try:
            hooks = webhooks(self._db)
        except Exception:  # the database is down: the alerts are stored, the posts lost
            log.exception("could not read the webhooks to post %d alerts to",
                          sum(map(len, by_audience.values())))  # fmt: skip
            return
        for hook in hooks:
            for alert in by_audience.get(audience_label(hook.country, hook.agency), ()):
                self.send(hook, {"alert": alert.to_dict()})

    def counts(self) -> dict[str, int]:
        """Bodies by outcome since the start: delivered, failed, refused, stopped, dropped."""
        with self._lock:
            return dict(self._counts)

    def close(self, timeout: float = 5.0) -> None:
        """Post what is queued for up to ``timeout`` seconds (one try each), then stop."""
        with self._lock:
            self._closing = True
            self._deadline = min(self._deadline, time.monotonic() + timeout)
            for lane in self._lanes.values():
                lane.wake.notify()
            threads = list(self._threads.values())
        self._stop.set()
        for thread in threads:
            thread.join(max(0.0, self._deadline - time.monotonic()))

    def _drain(self, lane: _Lane) -> None:
        while True:
            with self._lock:
                while not lane.pending and not self._closing:
                    if not lane.wake.wait(self._idle) and not lane.pending:
                        break
                if not lane.pending or time.monotonic() > self._deadline:
                    self._retire(lane)
                    return
                body = lane.pending.popleft()
                hook, dropped, lane.dropped = lane.hook, lane.dropped, 0
            self._deliver(lane, hook, body, dropped)

    def _retire(self, lane: _Lane) -> None:
        """End a lane (the lock is held): idle, or the service stops."""
        if lane.pending:
            self._counts["dropped"] += len(lane.pending)
            log.warning("webhook %d (%s): %d alerts not posted before the service stopped",
                        lane.hook.id, lane.hook.url, len(lane.pending))  # fmt: skip
        if self._lanes.get(lane.hook.id) is lane:
            del self._lanes[lane.hook.id]
            del self._threads[lane.hook.id]

    def _deliver(self, lane: _Lane, hook: WebhookTarget, body: bytes, dropped: int) -> None:
        started = time.monotonic()
        result = self._tries(hook, body)
        seconds = round(time.monotonic() - started, 3)
        with self._lock:
            bodies = 1
            if result.outcome == "stopped":  # what is queued will not go either
                bodies += len(lane.pending)
                dropped += len(lane.pending)
                lane.pending.clear()
            self._counts[result.outcome] += bodies
        level = logging.INFO if result.outcome == "delivered" else logging.WARNING
        log.log(level, "webhook %d (%s): %s, status %s, %d tries, %.3f s%s", hook.id, hook.url,
                result.outcome, result.status, result.tries, seconds,
                f": {result.reason}" if result.reason else "")  # fmt: skip
        if self._db is None:
            return
        try:
            record_event(self._db, hook.key_name, "webhook_delivery", webhook_id=hook.id,
                         url=hook.url, country=hook.country, agency=hook.agency,
                         outcome=result.outcome, status=result.status, reason=result.reason,
                         tries=result.tries, seconds=seconds, dropped=dropped)  # fmt: skip
        except Exception:  # the audit trail's failure must not end the lane
            log.exception("could not audit a delivery to webhook %d", hook.id)

    def _tries(self, hook: WebhookTarget, body: bytes) -> _Outcome:
        headers = {"Content-Type": "application/json", "User-Agent": "crossplan-webhooks",
                   "X-Crossplan-Webhook": str(hook.id)}  # fmt: skip
        if hook.secret:
            headers["X-Crossplan-Signature"] = sign(hook.secret, body)
        delay, tries = self._first_delay, 1
        while True:
            result, again = self._try(hook, body, headers)
            if not again or tries >= self._attempts or self._stop.wait(delay):
                return replace(result, tries=tries)
            delay, tries = delay * 2, tries + 1

    def _try(
        self, hook: WebhookTarget, body: bytes, headers: dict[str, str]
    ) -> tuple[_Outcome, bool]:
        """One try, and whether another may succeed."""
        try:
            why = (
                "no database to check its key in" if self._db is None
                else stopped_because(self._db, hook)
            )  # fmt: skip
        except Exception as err:  # the database is down: nothing is checked, nothing posted
            return _Outcome("failed", reason=f"cannot check its key: {err}"), True
        if why is not None:
            return _Outcome("stopped", reason=why), False
        try:
            where = check_url(hook.delivery_url, self._allow, self._resolve)
        except DataValidationError as err:
            reason = "; ".join(p.message for p in err.problems)
            if isinstance(err, UnresolvedHostError):
                return _Outcome("failed", reason=reason), True
            return _Outcome("refused", reason=reason), False
        try:
            status = _post(where, body, headers, self._timeout)
        except (OSError, http.client.HTTPException) as err:
            return _Outcome("failed", reason=_scrubbed(f"{type(err).__name__}: {err}", hook)), True
        if 200 <= status < 300:
            return _Outcome("delivered", status), False
        if 300 <= status < 400:
            return _Outcome("failed", status, f"answered {status}: redirects are not followed, "
                            "the webhook must name the final address"), False  # fmt: skip
        again = status >= 500 or status in _RETRY_STATUSES
        return _Outcome("failed", status, f"answered {status}"), again


def _post(where: Destination, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the checked address; the answer's status (its body is not read)."""
    kind = _PinnedHTTPSConnection if where.scheme == "https" else _PinnedHTTPConnection
    connection = kind(where, timeout)
    try:
        connection.request("POST", where.target, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the host's name resolves to now."""

    def __init__(self, where: Destination, timeout: float) -> None:
        super().__init__(where.host, where.port, timeout=timeout)
        self._address = where.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As :class:`_PinnedHTTPConnection`, with TLS verified for the host's name."""

    def __init__(self, where: Destination, timeout: float) -> None:
        super().__init__(where.host, where.port, timeout=timeout, context=_tls())
        self._address = where.address

    def connect(self) -> None:
        plain = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = _tls().wrap_socket(plain, server_hostname=self.host)


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def _scrubbed(message: str, hook: WebhookTarget) -> str:
    """An error's text without the URL's secrets, should a library have quoted them."""
    for secret in (hook.delivery_url, hook.delivery_url.partition("?")[2], hook.secret):
        if secret:
            message = message.replace(secret, "***")
    return message
