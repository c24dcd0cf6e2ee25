"""Revision 0006 on a database that already holds keys: each keeps its place as an agency's
key; a key's scope is stored and read back; downgrading drops it. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crossplan.pipelines.database import Database, KeyRecord, list_keys, store_key
from tests.pipelines.database.migrating import migrate

_KEY = "INSERT INTO api_keys VALUES ('grc-planner', 'planner', 'GRC', 'Border Police', :sha, :at)"
_AT = "2026-01-01T00:00:00.000001+00:00"


@pytest.fixture
def before_0006(database_url: str) -> Database:
    """A database at revision 0003 with an agency's planner key."""
    db = Database(database_url)
    migrate(db, "0003")
    with db.engine.begin() as con:
        con.execute(sa.text(_KEY), {"sha": "0" * 64, "at": _AT})
    return db


def test_0006_makes_every_existing_key_an_agency_s_and_stores_a_national_one(
    before_0006: Database,
) -> None:
    migrate(before_0006, "head")
    national = KeyRecord("grc-ncc", "planner", "GRC", "NCC", "1" * 64, _AT, "national")
    store_key(before_0006, national)
    assert [(k.name, k.scope) for k in list_keys(before_0006)] == [
        ("grc-planner", "agency"),
        ("grc-ncc", "national"),
    ]
    before_0006.dispose()


def test_0006_downgrades_to_keys_without_a_scope(before_0006: Database) -> None:
    migrate(before_0006, "head")
    migrate(before_0006, "0003", downgrade=True)
    with before_0006.engine.connect() as con:
        columns = {c["name"] for c in sa.inspect(con).get_columns("api_keys")}
        names = con.execute(sa.text("SELECT name FROM api_keys")).scalars().all()
    assert "scope" not in columns and names == ["grc-planner"]
    before_0006.dispose()
