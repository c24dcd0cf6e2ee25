"""Fixtures of the shared database tests: a clock, and a database holding the tiny world.

The tiny world is imported once per kind of database and test process, into a template;
each test's database is a copy of it (a copied SQLite file, a PostgreSQL database made from
the template), with the clock where the import left it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

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


class _Templates:
    """The tiny world imported by the operator, once per kind of database."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path, world: Path) -> None:
        self._request, self._folder, self._world = request, folder, world
        self._made: dict[str, tuple[str, datetime]] = {}  # kind: the template, the clock after
        self._postgres = contextlib.ExitStack()  # drops the PostgreSQL template

    def copy(self, url: str, clock: Clock) -> None:
        """Make ``url``'s database a copy of its kind's template, and ``clock`` its clock."""
        kind = sa.engine.make_url(url).get_backend_name()
        if kind not in self._made:
            self._made[kind] = self._make(kind)
        template, now = self._made[kind]
        if kind == "sqlite":
            target = str(sa.engine.make_url(url).database)
            for suffix in ("", "-wal"):  # what is not yet checkpointed, if anything
                if Path(template + suffix).exists():
                    shutil.copyfile(template + suffix, target + suffix)
        else:
            from tests.postgres import copy_database

            copy_database(self._request.getfixturevalue("postgres_server"), template, url)
        clock.now = now

    def _make(self, kind: str) -> tuple[str, datetime]:
        clock = Clock()
        if kind == "sqlite":
            path = self._folder / "tiny_world.db"
            self._import(f"sqlite:///{path}", clock)
            return str(path), clock.now
        from tests.postgres import fresh_database

        server = self._request.getfixturevalue("postgres_server")
        url = self._postgres.enter_context(fresh_database(server))
        self._import(url, clock)
        return str(sa.engine.make_url(url).database), clock.now

    def drop(self) -> None:
        """Drop the PostgreSQL template. A server stopped first took its template with it."""
        with contextlib.suppress(sa.exc.OperationalError):
            self._postgres.close()

    def _import(self, url: str, clock: Clock) -> None:
        db = Database.connect(url)
        try:
            import_directory(db, self._world, Submitter("ops"), now=clock)
        finally:
            db.dispose()  # no connection left: the template is copied as it is


@pytest.fixture(scope="session")
def _templates(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_world_dir: Path
) -> Iterator[_Templates]:
    templates = _Templates(request, tmp_path_factory.mktemp("templates"), tiny_world_dir)
    yield templates
    templates.drop()


@pytest.fixture
def shared_db(database_url: str, _templates: _Templates, clock: Clock) -> Database:
    """A database of each kind holding the tiny world, imported by the operator."""
    _templates.copy(database_url, clock)
    return Database.connect(database_url)
