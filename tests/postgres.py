"""A PostgreSQL server for the tests: the one ``make test`` started, or one of our own.

``make test`` (``.ci/services.sh``) starts a server and exports
``CROSSPLAN_TEST_POSTGRES_URL``; without it the tests start a private server with Debian's
``postgresql`` package (``initdb`` and ``pg_ctl``, as the ``postgres`` user when run as root)
in a temporary directory. When neither works the tests that need it fail, saying how to fix
it: they are never skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.ports import free_port

__all__ = ["POSTGRES_VARIABLE", "fresh_database", "postgres_server"]

POSTGRES_VARIABLE = "CROSSPLAN_TEST_POSTGRES_URL"
_HOW = (
    "install PostgreSQL (apt-get install postgresql) or set CROSSPLAN_TEST_POSTGRES_URL to a "
    "server where the user may create databases (make test does both)"
)


class PostgresUnavailable(RuntimeError):
    pass


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise PostgresUnavailable(f"no PostgreSQL '{name}' on this machine — fix: {_HOW}")
    return found[-1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a server (its ``postgres`` database) where databases can be created."""
    given = os.environ.get(POSTGRES_VARIABLE)
    if given:
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="crossplan-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    run = {"check": True, "capture_output": True, "text": True}
    try:
        subprocess.run(
            [*as_postgres, _binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
            **run,  # type: ignore[call-overload]
        )
        subprocess.run(
            [*as_postgres, _binary("pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
             "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off",
             "start"],
            **run,  # type: ignore[call-overload]
        )  # fmt: skip
    except (subprocess.CalledProcessError, OSError) as err:
        detail = getattr(err, "stderr", None) or str(err)
        raise PostgresUnavailable(
            f"cannot start PostgreSQL ({detail.strip()}) — fix: {_HOW}"
        ) from None
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, _binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new, empty database on ``server``, dropped afterwards."""
    name = f"crossplan_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as con:
            con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        admin.dispose()
        raise PostgresUnavailable(
            f"PostgreSQL at {server} refused ({err.orig}) — fix: {_HOW}"
        ) from None
    try:
        yield str(sa.engine.make_url(server).set(database=name).render_as_string(False))
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def copy_database(server: str, template: str, url: str) -> None:
    """Make the database of ``url`` on ``server`` a copy of the database ``template``, whatever
    it held. Nobody may be connected to ``template`` meanwhile."""
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as con:
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            con.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
