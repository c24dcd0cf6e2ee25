"""Plans remember who may read them (the requester's country and agency, and every country
whose units or joint operations the plan involves), and alerts whose view of the panel they
were raised on.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # Plans made before this revision have no country: only operator keys read them.
    op.add_column("plans", sa.Column("country", sa.String(3)))
    op.add_column("plans", sa.Column("agency", sa.String(200)))
    # Space-separated ISO3 codes, sorted; the requester's country included.
    op.add_column("plans", sa.Column("countries", sa.String(400)))
    # ``*`` for the operator, ``COUNTRY/agency`` for an agency; alerts raised before this
    # revision (on the whole panel) have none and are the operator's.
    op.add_column("alerts", sa.Column("audience", sa.String(220)))
    op.create_index("ix_alerts_audience", "alerts", ["audience"])


def downgrade() -> None:
    op.drop_index("ix_alerts_audience", "alerts")
    op.drop_column("alerts", "audience")
    for column in ("countries", "agency", "country"):
        op.drop_column("plans", column)
