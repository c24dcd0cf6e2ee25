"""Keys say which units their plans command: ``scope`` is ``agency`` (the key's agency's
units) or ``national`` (every unit of its country: a national coordination centre's key).

Keys made before this revision are agencies' keys.

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column(
        "api_keys", sa.Column("scope", sa.String(16), nullable=False, server_default="agency")
    )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
