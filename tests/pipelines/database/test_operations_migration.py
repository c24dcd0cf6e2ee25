"""Revision 0005 on a database that already holds alerts, on SQLite and on PostgreSQL: the
alerts stay as they were and stay append-only (SQLite rebuilds the table), an operation's step
may be an alert, and the downgrade takes the operations and their alerts away again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crossplan.pipelines.database import Database
from tests.pipelines.database.migrating import migrate

_SUBMISSION = (
    "INSERT INTO submissions (id, fingerprint, kind, received_at, key_name, file_name, rows, "
    "new_cells, corrected_cells, unchanged_cells) VALUES "
    "(1, 'f', 'incidents', '2026-01-05 00:00:00', 'k', 'f.csv', 0, 0, 0, 0)"
)
_RISK_ALERT = (
    "INSERT INTO alerts (created_at, submission_id, kind, region_id, country, category, period, "
    "value, threshold, exceeded, audience) VALUES ('2026-01-05 00:00:00', 1, 'forecast_jump', "
    "'r001', 'GRC', 'all', '2026-01-12', 3.5, 2.0, '{}', 'GRC/Border Police')"
)
_OPERATION = (
    "INSERT INTO operations (id, operation_id, created_at, key_name, regions, periods, needs, "
    "effort_multiplier, deadline) VALUES (1, 'JO-1', '2026-01-05 00:00:00', 'k', '[]', '[]', "
    "'{}', 1.0, '2026-01-12 00:00:00')"
)
_STEP_ALERT = (
    "INSERT INTO alerts (created_at, kind, audience, operation, detail) VALUES "
    "('2026-01-05 00:00:00', 'operation_proposed', 'GRC/Border Police', 1, '{}')"
)
_ALERTS = "SELECT kind, region_id, value, exceeded, audience, submission_id FROM alerts ORDER BY id"


@pytest.fixture
def before_0005(database_url: str) -> Database:
    """A database at revision 0003 with a risk alert."""
    db = Database(database_url)
    migrate(db, "0003")
    with db.engine.begin() as con:
        con.execute(sa.text(_SUBMISSION))
        con.execute(sa.text(_RISK_ALERT))
    return db


def test_0005_keeps_the_alerts_append_only_and_takes_operations_steps(
    before_0005: Database,
) -> None:
    migrate(before_0005, "head")
    with before_0005.engine.begin() as con:
        con.execute(sa.text(_OPERATION))
        con.execute(sa.text(_STEP_ALERT))
        rows = [tuple(r) for r in con.execute(sa.text(_ALERTS))]
    assert rows == [
        ("forecast_jump", "r001", 3.5, "{}", "GRC/Border Police", 1),
        ("operation_proposed", None, None, None, "GRC/Border Police", None),
    ]
    for statement in ("UPDATE alerts SET kind = 'x'", "DELETE FROM alerts"):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            before_0005.engine.begin() as con,
        ):
            con.execute(sa.text(statement))
    # a step of no operation is refused
    with pytest.raises(sa.exc.IntegrityError), before_0005.engine.begin() as con:
        con.execute(sa.text(_STEP_ALERT.replace("Police', 1,", "Police', 9,")))
    before_0005.dispose()


def test_0005_downgrades_without_the_operations_and_their_alerts(before_0005: Database) -> None:
    migrate(before_0005, "head")
    with before_0005.engine.begin() as con:
        con.execute(sa.text(_OPERATION))
        con.execute(sa.text(_STEP_ALERT))
    migrate(before_0005, "0003", downgrade=True)
    with before_0005.engine.connect() as con:
        rows = [tuple(r) for r in con.execute(sa.text(_ALERTS))]
        tables = set(sa.inspect(con).get_table_names())
        columns = {c["name"]: c["nullable"] for c in sa.inspect(con).get_columns("alerts")}
    assert rows == [("forecast_jump", "r001", 3.5, "{}", "GRC/Border Police", 1)]
    assert not tables & {"operations", "operation_events"}
    assert "operation" not in columns and not columns["submission_id"]
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        before_0005.engine.begin() as con,
    ):
        con.execute(sa.text("DELETE FROM alerts"))
    before_0005.dispose()
