"""The shared database: where it is, connecting to it, and bringing its schema up to date.

An embedded SQLite file, ``$CROSSPLAN_HOME/crossplan.db`` (created readable by its owner
only), unless ``CROSSPLAN_DATABASE_URL`` names another database, e.g. a PostgreSQL server
(``postgresql+psycopg://user:password@host:5432/crossplan``) that several service replicas
share. :meth:`Database.connect` applies the Alembic migrations shipped in this package, so a
new or older database is brought to the current schema before anything reads it.

Writers take the database's write lock first (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL table
lock), so submissions are received one after the other and their receipt times increase with
their order: the panel *as of* a time contains exactly the submissions committed up to it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.home import DATABASE_VARIABLE, check_home, database_url

__all__ = ["DATABASE_VARIABLE", "Database", "DatabaseUnavailableError", "database_url"]

_MIGRATIONS = Path(__file__).with_name("migrations")
# The PostgreSQL advisory lock a migration holds (an arbitrary key, the same in every process).
_MIGRATING = 0x63726F7373706C61  # "crosspla"


class DatabaseUnavailableError(ConfigurationError):
    """The database cannot be reached or brought up to date."""


class Database:
    """One database, with its schema migrated.

    Parameters
    ----------
    url
        SQLAlchemy URL; see :func:`database_url`.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self.engine = _engine(url, self.dialect)

    @classmethod
    def connect(cls, url: str | None = None) -> Database:
        """Open the database at ``url`` (default :func:`database_url`) and migrate it.

        Raises
        ------
        DatabaseUnavailableError
            The server is down, refuses the credentials, or the file cannot be created.
        """
        db = cls(url or database_url())
        db.migrate()
        return db

    def describe(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def migrate(self) -> None:
        """Apply every migration not yet applied (Alembic ``upgrade head``)."""
        # Imported here: a process that only imports the service (``bentoml serve``'s main
        # process) never migrates.
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with self.engine.begin() as con:
                if con.dialect.name == "postgresql":
                    # Processes starting together (a service's worker and the command that
                    # started it, replicas) migrate one after the other, not into each other's
                    # tables; SQLite's write transaction already serialises them.
                    con.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATING})
                config.attributes["connection"] = con
                command.upgrade(config, "head")
        except sa.exc.OperationalError as err:
            raise self.unavailable(err) from None

    def unavailable(self, err: BaseException) -> DatabaseUnavailableError:
        reason = str(getattr(err, "orig", err)).strip().splitlines()[0]
        return DatabaseUnavailableError(
            f"the database {self.describe()} is unavailable ({reason}) — fix: start the "
            f"database server or correct {DATABASE_VARIABLE}, then try again"
        )

    def ping(self) -> bool:
        """Whether the database answers now."""
        try:
            with self.engine.connect() as con:
                con.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading."""
        try:
            with self.engine.connect().execution_options(crossplan_read=True) as con:
                yield con
        except sa.exc.OperationalError as err:
            raise self.unavailable(err) from None

    @contextlib.contextmanager
    def write(self, *lock: str) -> Iterator[Connection]:
        """A transaction holding the write lock (and, on PostgreSQL, locks on ``lock`` tables).

        Everything written inside commits together or not at all.
        """
        try:
            with self.engine.begin() as con:
                if self.dialect == "postgresql" and lock:
                    con.execute(sa.text(f"LOCK TABLE {', '.join(lock)} IN EXCLUSIVE MODE"))
                yield con
        except sa.exc.OperationalError as err:
            raise self.unavailable(err) from None

    def dispose(self) -> None:
        self.engine.dispose()


def _engine(url: str, dialect: str) -> Engine:
    if dialect != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, connect_args=_connect_args(dialect))
    path = make_url(url).database
    if path and path != ":memory:":
        _create_private(Path(path))
    engine = sa.create_engine(url, connect_args={"timeout": 30.0})

    # SQLite through Python's driver: take the write lock when a transaction begins (so that
    # two writers queue instead of failing halfway), with WAL for concurrent readers.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(con: Connection) -> None:
        reading = con.get_execution_options().get("crossplan_read", False)
        con.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _connect_args(dialect: str) -> dict[str, Any]:
    return {"connect_timeout": 5} if dialect == "postgresql" else {}


def _create_private(path: Path) -> None:
    """Create the database file readable and writable by its owner only (never a new
    ``$CROSSPLAN_HOME`` on the way: :func:`~pipelines.home.check_home`)."""
    if not path.exists():
        check_home(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as err:
        raise DatabaseUnavailableError(
            f"cannot create the database file {path} ({err.strerror}) — fix: make its "
            "directory writable or set CROSSPLAN_DATABASE_URL"
        ) from None
    os.close(fd)
