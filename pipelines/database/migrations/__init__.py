"""Alembic migrations of the shared database, applied by :meth:`Database.migrate`."""
