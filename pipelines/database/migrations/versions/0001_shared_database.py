"""The shared database: submissions, panel cell versions, plans, keys, alerts, audit.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

_APPEND_ONLY = ("submissions", "documents", "cell_versions", "plans", "alerts", "audit")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("key_name", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(200)),
        sa.Column("country", sa.String(3)),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("new_cells", sa.Integer(), nullable=False),
        sa.Column("corrected_cells", sa.Integer(), nullable=False),
        sa.Column("unchanged_cells", sa.Integer(), nullable=False),
    )
    op.create_table(
        "documents",
        sa.Column("submission_id", _ID, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_table(
        "cell_versions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("submission_id", _ID, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("region_id", sa.String(100), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("reported", sa.BigInteger()),
        sa.Column("detected", sa.BigInteger()),
        sa.Column("effort", sa.Float()),
        sa.Column("count", sa.BigInteger()),
        sa.Column("covariates", sa.Text()),
        sa.Column("source", sa.String(200)),
    )
    op.create_index("ix_cell_versions_submission_id", "cell_versions", ["submission_id"])
    op.create_index("ix_cell_versions_period", "cell_versions", ["period"])
    op.create_table(
        "plans",
        sa.Column("seq", _ID, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("requester", sa.String(64), nullable=False, index=True),
        sa.Column("model_name", sa.String(200)),
        sa.Column("model_version", sa.String(64)),
        sa.Column("input_fingerprint", sa.String(64), nullable=False),
        sa.Column("data_as_of", sa.String(40)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("objective", sa.Float()),
        sa.Column("solver", sa.String(16), nullable=False),
        sa.Column("solve_seconds", sa.Float()),
        sa.Column("total_seconds", sa.Float(), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submission_id", _ID, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("region_id", sa.String(100), nullable=False, index=True),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("exceeded", sa.Text(), nullable=False),
    )
    op.create_index("ix_alerts_submission_id", "alerts", ["submission_id"])
    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("country", sa.String(3)),
        sa.Column("agency", sa.String(200)),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key_name", sa.String(64), nullable=False),
        sa.Column("country", sa.String(3)),
        sa.Column("agency", sa.String(200)),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    _append_only(_APPEND_ONLY)


def _append_only(tables: tuple[str, ...]) -> None:
    """History tables refuse UPDATE and DELETE (and TRUNCATE) in the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION crossplan_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
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
