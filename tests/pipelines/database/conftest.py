"""Fixtures of the shared database tests: a clock, and a database holding the tiny world."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crossplan.pipelines.database import Database, Submitter, import_directory


class Clock:
    """Receipt times one minute apart, so as-of times fall between submissions."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shared_db(database_url: str, tiny_world_dir: Path, clock: Clock) -> Database:
    """A database of each kind holding the tiny world, imported by the operator."""
    db = Database.connect(database_url)
    import_directory(db, tiny_world_dir, Submitter("ops"), now=clock)
    return db
