"""Revision 0003 on a database that already holds webhooks: on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crossplan.pipelines.database import Database
from tests.pipelines.database.migrating import migrate

_KEY = "INSERT INTO api_keys VALUES ('grc-analyst', 'analyst', 'GRC', 'Border Police', :sha, :at)"
_HOOK = (
    "INSERT INTO webhooks (key_name, country, agency, url, created_at) "
    "VALUES (:key, 'GRC', 'Border Police', :url, '2026-01-05 00:00:00')"
)
_KEY_CREATED = "2026-01-01T00:00:00.000001+00:00"


@pytest.fixture
def before_0003(database_url: str) -> Database:
    """A database at revision 0002 with two webhooks: one of a current key, with a token in
    its query, and one whose key is gone."""
    db = Database(database_url)
    migrate(db, "0002")
    with db.engine.begin() as con:
        con.execute(sa.text(_KEY), {"sha": "0" * 64, "at": _KEY_CREATED})
        for key, url in [("grc-analyst", "https://hooks.example.org/in?token=s3cret&v=2"),
                         ("gone", "http://127.0.0.1:3000/admin/reload")]:  # fmt: skip
            con.execute(sa.text(_HOOK), {"key": key, "url": url})
    return db


def test_0003_hides_the_query_keeps_the_url_to_post_to_and_binds_each_webhook_to_its_key(
    before_0003: Database,
) -> None:
    migrate(before_0003, "head")
    query = "SELECT url, delivery_url, secret, key_created_at FROM webhooks ORDER BY id"
    with before_0003.engine.connect() as con:
        rows = [tuple(r) for r in con.execute(sa.text(query))]
    assert rows == [
        ("https://hooks.example.org/in?token=***&v=***",
         "https://hooks.example.org/in?token=s3cret&v=2", None, _KEY_CREATED),
        ("http://127.0.0.1:3000/admin/reload", "http://127.0.0.1:3000/admin/reload", None, None),
    ]  # fmt: skip
    with pytest.raises(sa.exc.IntegrityError), before_0003.engine.begin() as con:
        con.execute(sa.text(_HOOK), {"key": "grc-analyst", "url": "https://x.example.org/"})
    before_0003.dispose()


def test_0003_downgrades_to_the_urls_as_registered(before_0003: Database) -> None:
    migrate(before_0003, "head")
    migrate(before_0003, "0002", downgrade=True)
    with before_0003.engine.connect() as con:
        urls = con.execute(sa.text("SELECT url FROM webhooks ORDER BY id")).scalars().all()
        columns = {c["name"] for c in sa.inspect(con).get_columns("webhooks")}
    assert urls == ["https://hooks.example.org/in?token=s3cret&v=2",
                    "http://127.0.0.1:3000/admin/reload"]  # fmt: skip
    assert not columns & {"delivery_url", "secret", "key_created_at"}
    before_0003.dispose()
