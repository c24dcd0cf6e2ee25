"""Posting alerts to the webhooks agencies register, without ever holding up a submission.

An agency registers a URL (``POST /webhooks``); each alert on a region it reads region by
region is sent there as a JSON ``POST``. Deliveries run on a background thread: a receiver
that is down or slow is retried with exponential back-off (0.5 s, 1 s, 2 s, ... up to
:data:`ATTEMPTS` tries) and then given up, logged, while submissions go on.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import sqlalchemy as sa

from pipelines.database import Database, iso, utcnow
from pipelines.database.schema import Webhook
from pipelines.errors import DataValidationError, Problem
from serving.auth import Principal

__all__ = ["ATTEMPTS", "WebhookSender", "WebhookTarget", "add_webhook", "webhooks"]

ATTEMPTS = 6
_FIRST_DELAY_S = 0.5
_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookTarget:
    """A registered URL and whose it is."""

    id: int
    key_name: str
    country: str | None
    agency: str | None
    url: str
    created_at: str

    def owner(self) -> Principal:
        """The agency as a reader: it is sent what it may read."""
        from serving.auth import Role

        return Principal(self.key_name, Role.ANALYST, self.country, self.agency)


def add_webhook(db: Database, who: Principal, url: str) -> WebhookTarget:
    """Register ``url`` for the agency of ``who``.

    Raises
    ------
    DataValidationError
        Not an http(s) URL with a host.
    """
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataValidationError(
            [Problem("request", f"not an http(s) URL: {url!r}",
                     "give the full address, e.g. https://alerts.example.org/crossplan", "url")]
        )  # fmt: skip
    created = utcnow()
    with db.write() as con:
        new_id = con.execute(
            sa.insert(Webhook)
            .values(key_name=who.name, country=who.country, agency=who.agency, url=url,
                    created_at=created)
            .returning(Webhook.id)
        ).scalar_one()  # fmt: skip
    return WebhookTarget(int(new_id), who.name, who.country, who.agency, url, str(iso(created)))


def webhooks(db: Database) -> list[WebhookTarget]:
    with db.read() as con:
        rows = con.execute(sa.select(Webhook).order_by(Webhook.id)).all()
    return [
        WebhookTarget(r.id, r.key_name, r.country, r.agency, r.url, str(iso(r.created_at)))
        for r in rows
    ]


class WebhookSender:
    """A background thread posting JSON bodies, with retries and back-off.

    Parameters
    ----------
    post
        Sends one body; raises on failure (the seam tests use to count attempts).
    first_delay
        Seconds before the first retry; doubled for each further one.
    """

    def __init__(
        self,
        post: Callable[[str, bytes], None] | None = None,
        first_delay: float = _FIRST_DELAY_S,
    ) -> None:
        self._post = post or _post
        self._first_delay = first_delay
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="crossplan-webhooks", daemon=True)
        self._thread.start()

    def send(self, url: str, body: dict[str, Any]) -> None:
        """Queue a POST; returns at once."""
        self._queue.put((url, json.dumps(body, separators=(",", ":")).encode()))

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            url, body = item
            delay = self._first_delay
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    self._post(url, body)
                    break
                except Exception as err:  # a receiver's failure is never ours to raise
                    if attempt == ATTEMPTS:
                        log.warning("gave up posting an alert to %s after %d tries: %s",
                                    url, attempt, err)  # fmt: skip
                        break
                    time.sleep(delay)
                    delay *= 2


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        if response.status >= 300:
            raise urllib.error.HTTPError(
                url, response.status, "not accepted", response.headers, None
            )
