"""Alembic environment: migrate the connection :class:`pipelines.database.Database` passes."""

from __future__ import annotations

from alembic import context

from crossplan.pipelines.database.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
