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
Every post is owed in the shared database before it is made (:mod:`serving.outbox`, on
:mod:`pipelines.database.outbox`), so a replica that dies takes no alert with it; this module
makes one try of one post (:func:`post`). The outbox's worker gives each try a lease and
records its outcome; it posts one body at a time per webhook, on a few threads, so a receiver
that never answers holds up only its own posts. A try waits at most :data:`TIMEOUT_SECONDS`
for each network step (connecting, sending, each read).

Before every try the webhook must still exist and the key that registered it still hold (not
revoked, not replaced, not moved to another country or agency); otherwise nothing is posted
and the delivery is ``stopped``. Its URL is checked again and its host resolved again
(:func:`serving.webhook_urls.check_url`), and the post connects to the very address that
passed, with TLS checked against the host's name: a name made to resolve elsewhere after
registration (DNS rebinding) reaches nothing (``refused``). Redirects are never followed: a
``3xx`` is a failed delivery, as is any other ``4xx`` than 408, 425 and 429; those, a
``5xx`` and network errors are tried again later (:func:`retry_delay`: 2 s, 8 s, 32 s, ...
at most an hour apart, :data:`ATTEMPTS` tries in all, about an hour and three quarters).

Each post carries its delivery's id twice: ``X-Crossplan-Delivery`` and ``Idempotency-Key``.
Delivery is *at least once*: a replica that dies after a post arrived and before it recorded
so leaves the delivery to be posted again, with the same body and id, when its lease runs
out. A receiver that drops a post whose key it has seen gets each alert *exactly once*. Every
delivery that ends goes to the audit trail (action ``webhook_delivery``): the webhook, its
shown URL, agency and country, the delivery and alert ids, the outcome (``delivered``,
``failed``, ``refused``: the address is not allowed, ``stopped``: the key or the webhook
went), the last HTTP status, the tries and the seconds of the last one.

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
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

from crossplan.pipelines.database import AlertRecord, Database, WebhookRecord, stopped_because
from crossplan.pipelines.errors import DataValidationError
from crossplan.serving.webhook_urls import (
    Destination,
    Resolver,
    UnresolvedHostError,
    check_url,
    resolve_host,
)

__all__ = [
    "ATTEMPTS",
    "FIRST_RETRY_SECONDS",
    "TIMEOUT_SECONDS",
    "Outcome",
    "alert_body",
    "post",
    "retry_delay",
    "sign",
]

ATTEMPTS = 8
TIMEOUT_SECONDS = 5.0
FIRST_RETRY_SECONDS = 2.0

_LAST_RETRY_SECONDS = 3600.0
# Answers that say "later", not "never".
_RETRY_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, body: bytes) -> str:
    """The ``X-Crossplan-Signature`` of ``body``: ``sha256=`` and the HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_body(alert: AlertRecord) -> str:
    """What a webhook is posted of a stored alert (JSON)."""
    return json.dumps({"alert": alert.to_dict()}, separators=(",", ":"))


def retry_delay(tries: int, first: float = FIRST_RETRY_SECONDS) -> float:
    """Seconds to wait after ``tries`` failed tries: ``first``, then four times longer each
    time, at most an hour."""
    return float(min(first * 4.0 ** max(tries - 1, 0), _LAST_RETRY_SECONDS))


@dataclass(frozen=True)
class Outcome:
    """What one try came to, and whether a later try may do better (``again``).

    ``outcome`` is ``delivered``, ``failed``, ``refused`` (the address is not allowed) or
    ``stopped`` (the webhook or its key went).
    """

    outcome: str
    status: int | None = None
    reason: str | None = None
    again: bool = False


def post(
    db: Database,
    hook: WebhookRecord,
    body: bytes,
    delivery: int,
    *,
    allow: Iterable[str] = (),
    resolve: Resolver = resolve_host,
    timeout: float = TIMEOUT_SECONDS,
) -> Outcome:
    """Try once to post ``body`` to ``hook`` as delivery ``delivery`` (see the module's
    description); never raises.

    Parameters
    ----------
    db
        Where the webhook's key is checked.
    allow
        Hosts the operator allows plain http and private addresses for
        (``CROSSPLAN_WEBHOOK_ALLOW``).
    resolve
        Gives the addresses of a host name.
    timeout
        Seconds the post waits for each network step.
    """
    try:
        why = stopped_because(db, hook)
    except Exception as err:  # the database is down: nothing is checked, nothing posted
        return Outcome("failed", reason=f"cannot check its key: {err}", again=True)
    if why is not None:
        return Outcome("stopped", reason=why)
    try:
        where = check_url(hook.delivery_url, tuple(allow), resolve)
    except DataValidationError as err:
        reason = "; ".join(p.message for p in err.problems)
        if isinstance(err, UnresolvedHostError):
            return Outcome("failed", reason=reason, again=True)
        return Outcome("refused", reason=reason)
    headers = {"Content-Type": "application/json", "User-Agent": "crossplan-webhooks",
               "X-Crossplan-Webhook": str(hook.id), "X-Crossplan-Delivery": str(delivery),
               "Idempotency-Key": str(delivery)}  # fmt: skip
    if hook.secret:
        headers["X-Crossplan-Signature"] = sign(hook.secret, body)
    try:
        status = _post(where, body, headers, timeout)
    except (OSError, http.client.HTTPException) as err:
        reason = _scrubbed(f"{type(err).__name__}: {err}", hook)
        return Outcome("failed", reason=reason, again=True)
    if 200 <= status < 300:
        return Outcome("delivered", status)
    if 300 <= status < 400:
        return Outcome("failed", status, f"answered {status}: redirects are not followed, "
                       "the webhook must name the final address")  # fmt: skip
    again = status >= 500 or status in _RETRY_STATUSES
    return Outcome("failed", status, f"answered {status}", again)


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


def _scrubbed(message: str, hook: WebhookRecord) -> str:
    """An error's text without the URL's secrets, should a library have quoted them."""
    for secret in (hook.delivery_url, hook.delivery_url.partition("?")[2], hook.secret):
        if secret:
            message = message.replace(secret, "***")
    return message
