"""The outbox: the alerts each submission owes, and each post owed to a webhook, kept in the
database so that a replica that dies loses neither.

``alert_jobs`` gets a row in the transaction of each incidents submission; the alerts are
stored, with a ``webhook_deliveries`` row per webhook that reads them, in the transaction that
marks that row done. Submissions stored before this revision owe nothing (their alerts were
raised, or lost, by the code of their time).

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_jobs",
        sa.Column(
            "submission_id",
            _ID,
            sa.ForeignKey("submissions.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("state", sa.String(16), nullable=False),  # pending | done | failed
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", sa.DateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime()),
        sa.Column("alerts", sa.Integer()),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index("ix_alert_jobs_state", "alert_jobs", ["state"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", _ID, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("webhook_id", sa.BigInteger(), nullable=False),  # no key: webhooks go
        sa.Column("body", sa.Text(), nullable=False),
        # pending | delivered | failed | refused | stopped
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", sa.DateTime()),
        sa.Column("delivered_at", sa.DateTime()),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.UniqueConstraint("alert_id", "webhook_id"),
    )
    op.create_index("ix_webhook_deliveries_alert_id", "webhook_deliveries", ["alert_id"])
    # What a worker looks for: the pending ones that are due.
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("alert_jobs")
