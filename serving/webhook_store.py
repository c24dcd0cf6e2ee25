"""The webhooks table: registering, listing and deleting an agency's webhooks.

A webhook belongs to the agency (country and agency name) of the key that registered it, and
lasts as long as that key: revoked, replaced, or moved to another country or agency, the key
takes its webhooks' deliveries with it (:func:`stopped_because`). Any key of the agency may
list and delete them; an admin may delete any; a key of another agency is told that no such
webhook exists, so ids reveal nothing. Registering and deleting go to the audit trail, with
the URL in its shown form (:func:`serving.webhook_urls.redact`), never the secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from pipelines.database import Database, iso, record_event, utcnow
from pipelines.database.schema import ApiKeyRow, Webhook
from pipelines.errors import DataValidationError, Problem
from serving.auth import Principal, Role
from serving.errors import WebhookNotFoundError
from serving.webhook_urls import Resolver, check_url, redact, resolve_host

__all__ = [
    "MAX_WEBHOOKS",
    "WebhookTarget",
    "add_webhook",
    "delete_webhook",
    "list_webhooks",
    "stopped_because",
    "webhooks",
]

MAX_WEBHOOKS = 10
"""Webhooks one agency may have: each has a queue and a thread of its own."""

_SECRET = re.compile(r"[\x21-\x7e]{16,200}")


@dataclass(frozen=True)
class WebhookTarget:
    """A registered webhook: what may be shown of it, and (hidden) what posting needs.

    ``delivery_url`` and ``secret`` are left out of ``repr`` and :meth:`to_dict`, so that
    neither reaches a response or a log by accident.
    """

    id: int
    key_name: str
    country: str | None
    agency: str | None
    url: str
    created_at: str
    signed: bool = False
    active: bool = True
    delivery_url: str = field(default="", repr=False)
    secret: str | None = field(default=None, repr=False)
    key_created_at: str | None = field(default=None, repr=False)

    def owner(self) -> Principal:
        """The agency as a reader: it is sent what it may read."""
        return Principal(self.key_name, Role.ANALYST, self.country, self.agency)

    def to_dict(self) -> dict[str, Any]:
        """What may be shown (:class:`serving.schemas.WebhookItem`)."""
        shown = asdict(self)
        for hidden in ("delivery_url", "secret", "key_created_at"):
            del shown[hidden]
        return shown


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
    created, shown = utcnow(), redact(url)
    with db.write("webhooks") as con:
        key = con.execute(
            sa.select(ApiKeyRow.created_at).where(ApiKeyRow.name == who.name)
        ).scalar_one_or_none()
        mine = con.execute(sa.select(Webhook.id, Webhook.delivery_url).where(_of_agency(who))).all()
        _refuse_more(key, mine, url)
        new_id = con.execute(
            sa.insert(Webhook)
            .values(key_name=who.name, country=who.country, agency=who.agency, url=shown,
                    delivery_url=url, secret=secret, key_created_at=key, created_at=created)
            .returning(Webhook.id)
        ).scalar_one()  # fmt: skip
    hook = WebhookTarget(int(new_id), who.name, who.country, who.agency, shown,
                         str(iso(created)), secret is not None, True, url, secret, key)  # fmt: skip
    record_event(db, who.name, "webhook_added", webhook_id=hook.id, url=shown,
                 country=who.country, agency=who.agency, signed=hook.signed)  # fmt: skip
    return hook


def list_webhooks(db: Database, who: Principal) -> list[WebhookTarget]:
    """The webhooks of the agency of ``who`` (every agency's for a key without a country),
    oldest first; inactive ones too, marked so."""
    query = _joined()
    if who.country is not None:
        query = query.where(_of_agency(who))
    with db.read() as con:
        return [_target(row) for row in con.execute(query).all()]


def webhooks(db: Database) -> list[WebhookTarget]:
    """The webhooks that alerts go to: those whose key still holds, oldest first."""
    with db.read() as con:
        return [t for t in (_target(row) for row in con.execute(_joined()).all()) if t.active]


def delete_webhook(db: Database, who: Principal, hook_id: int) -> WebhookTarget:
    """Delete a webhook of the agency of ``who`` (any webhook for an admin); audited.

    Raises
    ------
    WebhookNotFoundError
        No such webhook, or another agency's.
    """
    with db.write("webhooks") as con:
        query = _joined().where(Webhook.id == hook_id)
        if who.role is not Role.ADMIN:
            query = query.where(_of_agency(who))
        row = con.execute(query).first()
        if row is None:
            raise WebhookNotFoundError(
                f"this agency has no webhook {hook_id} — fix: GET /webhooks lists its webhooks"
            )
        con.execute(sa.delete(Webhook).where(Webhook.id == hook_id))
    hook = _target(row)
    record_event(db, who.name, "webhook_deleted", webhook_id=hook.id, url=hook.url,
                 country=hook.country, agency=hook.agency, by_country=who.country,
                 by_agency=who.agency)  # fmt: skip
    return hook


def stopped_because(db: Database, hook: WebhookTarget) -> str | None:
    """Why nothing may be posted to ``hook`` any more, or ``None`` while it may."""
    with db.read() as con:
        row = con.execute(_joined().where(Webhook.id == hook.id)).first()
    if row is None:
        return "the webhook was deleted"
    return _stopped(row)


def _joined() -> sa.Select[Any]:
    """Webhooks with the key that registered them, if it is still there."""
    return (
        sa.select(
            Webhook.__table__,
            ApiKeyRow.created_at.label("key_now"),
            ApiKeyRow.country.label("key_country"),
            ApiKeyRow.agency.label("key_agency"),
        )
        .outerjoin(ApiKeyRow, ApiKeyRow.name == Webhook.key_name)
        .order_by(Webhook.id)
    )


def _stopped(row: Any) -> str | None:
    if row.key_now is None or row.key_now != row.key_created_at:
        return f"the key '{row.key_name}' that registered it was revoked or replaced"
    if (row.key_country, row.key_agency) != (row.country, row.agency):
        return f"the key '{row.key_name}' now belongs to another country or agency"
    return None


def _target(row: Any) -> WebhookTarget:
    return WebhookTarget(
        id=int(row.id),
        key_name=row.key_name,
        country=row.country,
        agency=row.agency,
        url=row.url,
        created_at=str(iso(row.created_at)),
        signed=row.secret is not None,
        active=_stopped(row) is None,
        delivery_url=row.delivery_url,
        secret=row.secret,
        key_created_at=row.key_created_at,
    )


def _of_agency(who: Principal) -> sa.ColumnElement[bool]:
    """Webhooks of the agency of ``who`` (a missing country or agency matches a missing one)."""
    return sa.and_(
        Webhook.country.is_(None) if who.country is None else Webhook.country == who.country,
        Webhook.agency.is_(None) if who.agency is None else Webhook.agency == who.agency,
    )


def _refuse_more(key: str | None, mine: Sequence[Any], url: str) -> None:
    if key is None:
        problem = Problem("request", "the key making this request was revoked meanwhile",
                          "ask for a new key (crossplan keys add)")  # fmt: skip
    elif any(row.delivery_url == url for row in mine):
        same = next(row.id for row in mine if row.delivery_url == url)
        problem = Problem("request", f"this agency's webhook {same} already posts to this URL",
                          "keep that one, or delete it first (DELETE /webhooks/{id})", None,
                          "url")  # fmt: skip
    elif len(mine) >= MAX_WEBHOOKS:
        problem = Problem("request", f"this agency has {len(mine)} webhooks, the most it may have",
                          "delete one it no longer uses (GET /webhooks lists them)")  # fmt: skip
    else:
        return
    raise DataValidationError([problem])
