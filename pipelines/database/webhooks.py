"""The webhooks table: where each agency wants its alerts posted.

A webhook belongs to the agency (country and agency name) of the key that registered it, and
lasts as long as that key: revoked, replaced, or moved to another country or agency, the key
takes its webhooks' deliveries with it (:func:`stopped_because`). Registering checks, in the
same transaction, that the key still holds and that the agency has neither this URL nor its
most webhooks already, so that two requests at once cannot get past either.

:mod:`serving.webhook_posts` checks the URLs, says who may list and delete which webhook, audits
both, and posts; it reads and writes the table through this module only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.panel import iso, utcnow
from crossplan.pipelines.database.schema import ApiKeyRow, Webhook
from crossplan.pipelines.errors import DataValidationError, Problem

__all__ = [
    "WebhookOwner",
    "WebhookRecord",
    "read_webhooks",
    "remove_webhook",
    "stopped_because",
    "store_webhook",
]


class WebhookOwner(Protocol):
    """A key, as far as its webhooks go (:class:`serving.auth.Principal` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def country(self) -> str | None: ...

    @property
    def agency(self) -> str | None: ...


@dataclass(frozen=True)
class WebhookRecord:
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

    def to_dict(self) -> dict[str, Any]:
        """What may be shown (:class:`serving.schemas.WebhookItem`)."""
        shown = asdict(self)
        for hidden in ("delivery_url", "secret", "key_created_at"):
            del shown[hidden]
        return shown


def store_webhook(
    db: Database, owner: WebhookOwner, url: str, *, shown: str, secret: str | None, limit: int
) -> WebhookRecord:
    """Register ``url`` for the agency of ``owner``'s key.

    Parameters
    ----------
    url
        The URL as registered, to post to.
    shown
        The URL as it may be shown: listed, answered and audited.
    secret
        Signs each post, when given.
    limit
        The most webhooks one agency may have.

    Raises
    ------
    DataValidationError
        The key was revoked meanwhile, or the agency already has this URL or ``limit``
        webhooks.
    """
    created = utcnow()
    with db.write("webhooks") as con:
        key = con.execute(
            sa.select(ApiKeyRow.created_at).where(ApiKeyRow.name == owner.name)
        ).scalar_one_or_none()
        mine = con.execute(
            sa.select(Webhook.id, Webhook.delivery_url).where(_of_agency(owner))
        ).all()
        _refuse_more(key, mine, url, limit)
        new_id = con.execute(
            sa.insert(Webhook)
            .values(key_name=owner.name, country=owner.country, agency=owner.agency, url=shown,
                    delivery_url=url, secret=secret, key_created_at=key, created_at=created)
            .returning(Webhook.id)
        ).scalar_one()  # fmt: skip
    return WebhookRecord(int(new_id), owner.name, owner.country, owner.agency, shown,
                         str(iso(created)), secret is not None, True, url, secret, key)  # fmt: skip


def read_webhooks(db: Database, owner: WebhookOwner | None = None) -> list[WebhookRecord]:
    """The webhooks of the agency of ``owner`` (``None``: of every agency), oldest first;
    inactive ones too, marked so."""
    query = _joined()
    if owner is not None:
        query = query.where(_of_agency(owner))
    with db.read() as con:
        return [_record(row) for row in con.execute(query).all()]


def remove_webhook(db: Database, hook_id: int, owner: WebhookOwner | None) -> WebhookRecord | None:
    """Delete the webhook ``hook_id`` if it is of the agency of ``owner`` (``None``: of any
    agency); the webhook deleted, or ``None`` when there was none such."""
    with db.write("webhooks") as con:
        query = _joined().where(Webhook.id == hook_id)
        if owner is not None:
            query = query.where(_of_agency(owner))
        row = con.execute(query).first()
        if row is None:
            return None
        con.execute(sa.delete(Webhook).where(Webhook.id == hook_id))
    return _record(row)


def stopped_because(db: Database, hook: WebhookRecord) -> str | None:
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


def _record(row: Any) -> WebhookRecord:
    return WebhookRecord(
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


def _of_agency(owner: WebhookOwner) -> sa.ColumnElement[bool]:
    """Webhooks of the agency of ``owner`` (a missing country or agency matches a missing one)."""
    return sa.and_(
        Webhook.country.is_(None) if owner.country is None else Webhook.country == owner.country,
        Webhook.agency.is_(None) if owner.agency is None else Webhook.agency == owner.agency,
    )


def _refuse_more(key: str | None, mine: Sequence[Any], url: str, limit: int) -> None:
    if key is None:
        problem = Problem("request", "the key making this request was revoked meanwhile",
                          "ask for a new key (crossplan keys add)")  # fmt: skip
    elif any(row.delivery_url == url for row in mine):
        same = next(row.id for row in mine if row.delivery_url == url)
        problem = Problem("request", f"this agency's webhook {same} already posts to this URL",
                          "keep that one, or delete it first (DELETE /webhooks/{id})", None,
                          "url")  # fmt: skip
    elif len(mine) >= limit:
        problem = Problem("request", f"this agency has {len(mine)} webhooks, the most it may have",
                          "delete one it no longer uses (GET /webhooks lists them)")  # fmt: skip
    else:
        return
    raise DataValidationError([problem])
