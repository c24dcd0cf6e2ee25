"""Joint operations: each as its proposer drafted it, and every step of its life after.

``operations`` holds the draft (regions, periods, each party's needs, the effort multiplier,
the deadline); ``operation_events`` each step (proposed, pledged, declined, confirmed,
expired, withdrawn, cancelled), numbered within its operation. Both are append-only: an
operation's status is derived from its events, never written over.

An alert may now be an operation's step for a party (``operation`` and its JSON ``detail``)
instead of a risk alert of a submission, so the columns only risk alerts fill become
nullable. SQLite rebuilds the table for that, which drops its triggers: they are made again.

Revision ID: 0005
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NEW = ("operations", "operation_events")
# The columns of alerts that only a risk alert of a submission fills, with their types.
_RISK_ONLY: dict[str, sa.types.TypeEngine[Any]] = {
    "submission_id": _ID,
    "region_id": sa.String(100),
    "country": sa.String(3),
    "category": sa.String(100),
    "period": sa.Date(),
    "value": sa.Float(),
    "threshold": sa.Float(),
    "exceeded": sa.Text(),
}


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("operation_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("key_name", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(200)),
        sa.Column("country", sa.String(3)),
        sa.Column("regions", sa.Text(), nullable=False),
        sa.Column("periods", sa.Text(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("effort_multiplier", sa.Float(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "operation_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("operation", _ID, sa.ForeignKey("operations.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key_name", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(200)),
        sa.Column("country", sa.String(3)),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.UniqueConstraint("operation", "seq"),
    )
    op.create_index("ix_operation_events_operation", "operation_events", ["operation"])
    with op.batch_alter_table("alerts") as batch:
        for column, kind in _RISK_ONLY.items():
            batch.alter_column(column, existing_type=kind, nullable=True)
        batch.add_column(
            sa.Column("operation", _ID, sa.ForeignKey("operations.id", name="fk_alerts_operation"))
        )
        batch.add_column(sa.Column("detail", sa.Text()))
        batch.create_index("ix_alerts_operation", ["operation"])
    if op.get_bind().dialect.name == "sqlite":
        _append_only(("alerts",))
    _append_only(_NEW)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Operations' alerts go with the operations: the append-only rule is lifted for that.
    if sqlite:
        op.execute("DROP TRIGGER alerts_no_delete")
        op.execute("DELETE FROM alerts WHERE operation IS NOT NULL")
    else:
        op.execute("ALTER TABLE alerts DISABLE TRIGGER alerts_append_only")
        op.execute("DELETE FROM alerts WHERE operation IS NOT NULL")
        op.execute("ALTER TABLE alerts ENABLE TRIGGER alerts_append_only")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_operation")
        batch.drop_column("detail")
        batch.drop_column("operation")
        for column, kind in _RISK_ONLY.items():
            batch.alter_column(column, existing_type=kind, nullable=False)
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS alerts_no_update")
        _append_only(("alerts",))
    op.drop_index("ix_operation_events_operation", "operation_events")
    op.drop_table("operation_events")
    op.drop_table("operations")


def _append_only(tables: tuple[str, ...]) -> None:
    """The tables refuse UPDATE and DELETE (and TRUNCATE), as revision 0001 made the others
    (a migration keeps its own copy: it must do tomorrow what it did when it was written)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION crossplan_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION crossplan_append_only()"
            )
        return
    for table in tables:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
