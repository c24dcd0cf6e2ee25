"""Connecting and migrating: on SQLite (a private file) and on PostgreSQL."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from crossplan.pipelines.database import Database, DatabaseUnavailableError
from crossplan.pipelines.database.schema import APPEND_ONLY


def test_migrations_create_every_table_and_can_run_again(database_url: str) -> None:
    db = Database.connect(database_url)
    Database.connect(database_url)  # applying them again changes nothing
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {*APPEND_ONLY, "api_keys", "webhooks", "alembic_version"} <= tables


def test_processes_starting_together_migrate_a_new_database_once(database_url: str) -> None:
    # A service's worker, the `crossplan serve` that started it and replicas connect at once.
    connect = f"from pipelines.database import Database; Database.connect({database_url!r})"
    procs = [
        subprocess.Popen([sys.executable, "-c", connect], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, "\n".join(errors)
    with Database.connect(database_url).engine.connect() as con:
        assert con.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_history_tables_refuse_updates_and_deletes(database_url: str, table: str) -> None:
    db = Database.connect(database_url)
    column = sa.inspect(db.engine).get_columns(table)[0]["name"]
    for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as con:
            # A row to refuse: on an empty table a trigger has nothing to fire on.
            _one_row(con, table)
            con.execute(sa.text(statement))


def _one_row(con: sa.Connection, table: str) -> None:
    con.execute(
        sa.text(
            "INSERT INTO submissions (id, fingerprint, kind, received_at, key_name, file_name, "
            "rows, new_cells, corrected_cells, unchanged_cells) VALUES "
            "(1, 'f', 'incidents', '2026-01-05 00:00:00', 'k', 'f.csv', 0, 0, 0, 0)"
        )
    )
    rows = {
        "documents": "INSERT INTO documents VALUES (1, 'regions.geojson', '{}')",
        "cell_versions": "INSERT INTO cell_versions (submission_id, region_id, period, category) "
        "VALUES (1, 'r1', '2026-01-05', 'all')",
        "plans": "INSERT INTO plans (plan_id, created_at, requester, input_fingerprint, status, "
        "solver, total_seconds, request_json, response_json) VALUES "
        "('p', 't', 'r', 'f', 'optimal', 'cbc', 1.0, '{}', '{}')",
        "alerts": "INSERT INTO alerts (created_at, submission_id, kind, region_id, country, "
        "category, period, value, threshold, exceeded) VALUES "
        "('2026-01-05 00:00:00', 1, 'k', 'r1', 'GRC', 'all', '2026-01-05', 1, 1, '{}')",
        "audit": "INSERT INTO audit (at, actor, action, detail) VALUES "
        "('2026-01-05 00:00:00', 'a', 'reload', '{}')",
    }
    if table.startswith("operation"):
        con.execute(sa.text(_OPERATION))
        if table == "operation_events":
            con.execute(sa.text(_OPERATION_EVENT))
    if table in rows:
        con.execute(sa.text(rows[table]))


_OPERATION = (
    "INSERT INTO operations (id, operation_id, created_at, key_name, regions, periods, needs, "
    "effort_multiplier, deadline) VALUES (1, 'JO-1', '2026-01-05 00:00:00', 'k', '[]', '[]', "
    "'{}', 1.0, '2026-01-12 00:00:00')"
)
_OPERATION_EVENT = (
    "INSERT INTO operation_events (operation, seq, at, kind, key_name, detail) VALUES "
    "(1, 1, '2026-01-05 00:00:00', 'proposed', 'k', '{}')"
)


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    Database.connect(f"sqlite:///{tmp_path / 'crossplan.db'}")
    assert stat.S_IMODE((tmp_path / "crossplan.db").stat().st_mode) == 0o600


def test_a_server_that_is_down_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailableError, match=r"unavailable.*fix: start the database"):
        Database.connect("postgresql+psycopg://nobody@127.0.0.1:1/crossplan")
