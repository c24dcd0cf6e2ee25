"""Webhooks keep the URL they post to apart from the URL they show, may sign their bodies,
and remember the key that registered them.

``url`` becomes the shown form (every value of the query replaced by ``***``); the URL as
registered moves to ``delivery_url``, which nothing returns or logs. ``secret`` signs each
body. ``key_created_at`` names the key that registered the webhook: a revoked or replaced key
(a new ``created_at`` under the same name) stops its webhooks.

Revision ID: 0003
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

_HOOKS = sa.table(
    "webhooks",
    sa.column("id", sa.Integer()),
    sa.column("key_name", sa.String()),
    sa.column("url", sa.String()),
    sa.column("delivery_url", sa.String()),
    sa.column("key_created_at", sa.String()),
)
_KEYS = sa.table("api_keys", sa.column("name", sa.String()), sa.column("created_at", sa.String()))


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("delivery_url", sa.String(2000)))
    op.add_column("webhooks", sa.Column("secret", sa.String(200)))
    op.add_column("webhooks", sa.Column("key_created_at", sa.String(40)))
    bind = op.get_bind()
    for hook_id, url in bind.execute(sa.select(_HOOKS.c.id, _HOOKS.c.url)).all():
        bind.execute(
            sa.update(_HOOKS)
            .where(_HOOKS.c.id == hook_id)
            .values(delivery_url=url, url=_redacted(url))
        )
    # A webhook registered before this revision belongs to the key its holder has now; with
    # no key of that name left, it stays without one, and posts nothing.
    bind.execute(
        sa.update(_HOOKS).values(
            key_created_at=sa.select(_KEYS.c.created_at)
            .where(_KEYS.c.name == _HOOKS.c.key_name)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column("delivery_url", existing_type=sa.String(2000), nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.update(_HOOKS).values(url=_HOOKS.c.delivery_url))
    with op.batch_alter_table("webhooks") as batch:
        for column in ("key_created_at", "secret", "delivery_url"):
            batch.drop_column(column)


def _redacted(url: str) -> str:
    """The shown form of a URL, as this revision defines it (a migration keeps its own copy:
    it must do tomorrow what it did when it was written)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(not a URL)"
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    query = "&".join(
        f"{name}=***" if sep else "***"
        for name, sep, _ in (item.partition("=") for item in parts.query.split("&") if item)
    )
    shown = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    # "a=1" shows as "a=***": keep within the column's 2000 characters.
    return shown if len(shown) <= 2000 else shown[:1999] + "…"
