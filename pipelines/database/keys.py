"""The keys table: every API key's hash, with whom it belongs to.

A key is stored as the SHA-256 of its token, never the token; :mod:`serving.auth` makes the
tokens, checks them and says what each role may do, and reads and writes the table through
this module only. Revoking a key deletes its row; the audit trail keeps the record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa

from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.schema import ApiKeyRow
from crossplan.pipelines.errors import ConfigurationError

__all__ = ["KeyRecord", "delete_key", "key_agencies", "list_keys", "store_key"]


@dataclass(frozen=True)
class KeyRecord:
    """One stored key (never the token itself).

    Attributes
    ----------
    role
        The role's name (:class:`serving.auth.Role`).
    country, agency
        Whom the key belongs to; no country: the operator's.
    sha256
        SHA-256 hex digest of the token.
    created_at
        ISO 8601 time of its making, with microseconds.
    scope
        ``agency`` (its plans command the agency's units) or ``national`` (every unit of its
        country: a national coordination centre's key).
    """

    name: str
    role: str
    country: str | None
    agency: str | None
    sha256: str
    created_at: str
    scope: str = "agency"


def list_keys(db: Database) -> list[KeyRecord]:
    """Every key as stored now, oldest first.

    Raises
    ------
    ConfigurationError
        The database cannot be read.
    """
    with db.read() as con:
        rows = con.execute(sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at)).all()
    return [
        KeyRecord(r.name, r.role, r.country, r.agency, r.sha256, r.created_at, r.scope)
        for r in rows
    ]


def store_key(db: Database, key: KeyRecord, *, replace: bool = False) -> bool:
    """Store ``key``, in one transaction; whether it replaced a key of the same name.

    Raises
    ------
    ConfigurationError
        A key has that name and ``replace`` is false.
    """
    with db.write("api_keys") as con:
        exists = con.execute(sa.select(ApiKeyRow.name).where(ApiKeyRow.name == key.name)).first()
        if exists is not None and not replace:
            raise ConfigurationError(
                f"a key named '{key.name}' already exists in {db.describe()} — fix: choose "
                f"another name, or replace it (`crossplan keys add {key.name} --replace`)"
            )
        con.execute(sa.delete(ApiKeyRow).where(ApiKeyRow.name == key.name))
        con.execute(sa.insert(ApiKeyRow).values(**asdict(key)))
    return exists is not None


def delete_key(db: Database, name: str) -> bool:
    """Delete the key of ``name``; whether there was one."""
    with db.write("api_keys") as con:
        gone = con.execute(sa.delete(ApiKeyRow).where(ApiKeyRow.name == name)).rowcount
    return bool(gone)


def key_agencies(db: Database) -> list[tuple[str, str | None]]:
    """The country and agency of every key that has a country, each pair once."""
    with db.read() as con:
        rows = con.execute(
            sa.select(ApiKeyRow.country, ApiKeyRow.agency)
            .where(ApiKeyRow.country.is_not(None))
            .distinct()
        ).all()
    return [(r.country, r.agency) for r in rows]
