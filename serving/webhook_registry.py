"""Which webhooks an agency has: registering (with the URL and secret checked), listing,
deleting, and the ones alerts go to now. Each act is audited, never with the URL's secret.

The delivery of alerts to them is :mod:`serving.webhook_posts`; the table is
:mod:`pipelines.database.webhooks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crossplan.pipelines.database import (
    Database,
    WebhookRecord,
    read_webhooks,
    record_event,
    remove_webhook,
    store_webhook,
)
from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.serving.auth import Principal, Role
from crossplan.serving.http_errors import WebhookNotFoundError
from crossplan.serving.webhook_urls import Resolver, check_url, redact, resolve_host

__all__ = [
    "MAX_WEBHOOKS",
    "WebhookTarget",
    "add_webhook",
    "delete_webhook",
    "list_webhooks",
    "webhooks",
]

MAX_WEBHOOKS = 10
"""Webhooks one agency may have (each is posted to apart from the others, from the outbox)."""

_SECRET = re.compile(r"[\x21-\x7e]{16,200}")


@dataclass(frozen=True)
class WebhookTarget(WebhookRecord):
    """A registered webhook (:class:`~pipelines.database.WebhookRecord`), and whom it posts
    to as a reader."""

    def owner(self) -> Principal:
        """The agency as a reader: it is sent what it may read."""
        return Principal(self.key_name, Role.ANALYST, self.country, self.agency)


def add_webhook(
    db: Database,
    who: Principal,
    url: str,
    *,
    secret: str | None = None,
    allow: Iterable[str] = (),
    resolve: Resolver = resolve_host,
) -> WebhookTarget:
    """Register ``url`` for the agency of ``who`` (and write it to the audit trail).

    Parameters
    ----------
    url
        Checked by :func:`serving.webhook_urls.check_url`.
    secret
        Signs each post when given: 16-200 printable ASCII characters.
    allow
        Hosts the operator allows plain http and private addresses for.
    resolve
        Gives the addresses of a host name.

    Raises
    ------
    DataValidationError
        The URL breaks a rule, the secret is unusable, the agency already has this URL or
        :data:`MAX_WEBHOOKS` webhooks, or the key was revoked meanwhile.
    """
    problems = []
    try:
        check_url(url, allow, resolve)
    except DataValidationError as err:
        problems.extend(err.problems)
    if secret is not None and not _SECRET.fullmatch(secret):
        problems.append(Problem("request", "the secret is not 16-200 printable ASCII characters",
                                "make one, e.g. `openssl rand -hex 32`", None, "secret"))  # fmt: skip
    if problems:
        raise DataValidationError(problems)
    hook = _target(
        store_webhook(db, who, url, shown=redact(url), secret=secret, limit=MAX_WEBHOOKS)
    )
    record_event(db, who.name, "webhook_added", webhook_id=hook.id, url=hook.url,
                 country=who.country, agency=who.agency, signed=hook.signed)  # fmt: skip
    return hook


def list_webhooks(db: Database, who: Principal) -> list[WebhookTarget]:
    """The webhooks of the agency of ``who`` (every agency's for a key without a country),
    oldest first; inactive ones too, marked so."""
    return [_target(r) for r in read_webhooks(db, None if who.country is None else who)]


def webhooks(db: Database) -> list[WebhookTarget]:
    """The webhooks that alerts go to: those whose key still holds, oldest first."""
    return [_target(r) for r in read_webhooks(db) if r.active]


def delete_webhook(db: Database, who: Principal, hook_id: int) -> WebhookTarget:
    """Delete a webhook of the agency of ``who`` (any webhook for an admin); audited.

    Raises
    ------
    WebhookNotFoundError
        No such webhook, or another agency's.
    """
    gone = remove_webhook(db, hook_id, None if who.role is Role.ADMIN else who)
    if gone is None:
        raise WebhookNotFoundError(
            f"this agency has no webhook {hook_id} — fix: GET /webhooks lists its webhooks"
        )
    hook = _target(gone)
    record_event(db, who.name, "webhook_deleted", webhook_id=hook.id, url=hook.url,
                 country=hook.country, agency=hook.agency, by_country=who.country,
                 by_agency=who.agency)  # fmt: skip
    return hook


def _target(record: WebhookRecord) -> WebhookTarget:
    return WebhookTarget(**vars(record))
