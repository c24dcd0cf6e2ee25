"""Revision 0004 adds the outbox to a database that already holds submissions, and takes it
away again: on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from crossplan.pipelines.database import Database, outbox_counts
from tests.pipelines.database.migrating import migrate

_OUTBOX = {"alert_jobs", "webhook_deliveries"}


def _tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_0004_adds_an_empty_outbox_and_downgrades_without_it(database_url: str) -> None:
    db = Database(database_url)
    migrate(db, "0003")
    with db.engine.begin() as con:  # a submission stored before the outbox owes nothing
        con.execute(
            sa.text(
                "INSERT INTO submissions (fingerprint, kind, received_at, key_name, file_name, "
                "rows, new_cells, corrected_cells, unchanged_cells) VALUES "
                "('f', 'incidents', '2026-01-05 00:00:00', 'k', 'f.csv', 1, 1, 0, 0)"
            )
        )
    assert not _OUTBOX & _tables(db)
    migrate(db, "0004")
    assert _tables(db) >= _OUTBOX
    assert outbox_counts(db) == {}
    migrate(db, "0003", downgrade=True)
    assert not _OUTBOX & _tables(db)
    db.dispose()
