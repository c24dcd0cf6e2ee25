"""API keys of the planning service: roles, agencies, making keys, and checking a key.

A key is a random token shown once, when it is made. The shared database keeps only its
SHA-256 (the token has 256 bits of entropy, so a plain hash cannot be reversed by guessing),
with the name of its holder, a role, and the agency and country it belongs to:

============  ==============================================================
``reporter``  submit its own country's incident rows, nothing else
``analyst``   read plans, the model card and the data sharing opens to it
``planner``   also request forecasts and plans
``admin``     also submit for any country, reload the model, read the audit trail
============  ==============================================================

A key without a country is the operator's (``make demo``'s planner, the service's admins):
it reads every region. Every agency's key names its country, and reads what
:mod:`serving.sharing` opens to that country.

Command follows ownership: a key's plans assign the units of its agency, or every unit of its
country when its scope is ``national`` (a national coordination centre's key); the
operator's plans every unit, as a central proposal that binds no agency
(:attr:`Principal.command`). The keys table is
:mod:`pipelines.database.keys`. Adding, replacing and revoking a key is written to the audit
trail (never the token or its hash).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection

from crossplan.optimize.command import Command
from crossplan.pipelines.database import (
    Database,
    KeyRecord,
    Submitter,
    delete_key,
    list_keys,
    record_event,
    store_key,
)
from crossplan.pipelines.errors import ConfigurationError

__all__ = [
    "ApiKey",
    "KeyBackend",
    "KeyRing",
    "KeyStore",
    "KeysUnavailable",
    "Permission",
    "Principal",
    "Role",
    "Scope",
    "add_key",
    "bearer_token",
    "hash_token",
    "revoke_key",
    "roles_with",
]

_TOKEN_PREFIX = "cpk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")
# How long a service trusts the keys it read: a revoked key stops working within this time.
_REFRESH_SECONDS = 1.0

log = logging.getLogger(__name__)


class Role(StrEnum):
    """What a key holder is."""

    REPORTER = "reporter"
    ANALYST = "analyst"
    PLANNER = "planner"
    ADMIN = "admin"


class Scope(StrEnum):
    """Which units a key's plans command."""

    AGENCY = "agency"
    NATIONAL = "national"


class Permission(StrEnum):
    """What an endpoint needs."""

    SUBMIT = "submit"
    READ = "read"
    PLAN = "plan"
    ADMIN = "admin"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.REPORTER: frozenset({Permission.SUBMIT}),
    Role.ANALYST: frozenset({Permission.READ}),
    Role.PLANNER: frozenset({Permission.READ, Permission.PLAN}),
    Role.ADMIN: frozenset({Permission.SUBMIT, Permission.READ, Permission.PLAN, Permission.ADMIN}),
}


def roles_with(permission: Permission | None) -> list[Role]:
    """The roles whose keys may ``permission`` (``None``: any valid key), in :class:`Role`'s
    order."""
    return [r for r in Role if permission is None or permission in _GRANTS[r]]


@dataclass(frozen=True)
class Principal(BaseUser):
    """The holder of a valid key: Starlette's ``request.user``."""

    name: str
    role: Role
    country: str | None = None
    agency: str | None = None
    scope: Scope = Scope.AGENCY

    def may(self, permission: Permission) -> bool:
        return permission in _GRANTS[self.role]

    @property
    def command(self) -> Command:
        """The units its plans may assign: its agency's, its country's (``national``), or
        every unit (the operator's central proposal, binding on no one)."""
        if self.country is None:
            return Command()
        return Command(country=self.country, agency=self.agency, scope=self.scope.value)

    @property
    def submitter(self) -> Submitter:
        """Who its submissions are from: its name, agency and country; an admin's key may
        add a category and backfill."""
        return Submitter(self.name, self.agency, self.country, admin=self.role is Role.ADMIN)

    @property
    def scopes(self) -> list[str]:
        """The permissions of the role, as Starlette's ``request.auth.scopes``."""
        return sorted(p.value for p in _GRANTS[self.role])

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name


class ApiKey(BaseModel):
    """One stored key (never the token itself)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME.pattern, description="Who holds the key")
    role: Role
    country: str | None = Field(default=None, pattern=_COUNTRY.pattern)
    agency: str | None = Field(default=None, max_length=200)
    sha256: str = Field(pattern=_SHA256.pattern, description="SHA-256 hex digest of the token")
    created_at: str = ""
    scope: Scope = Scope.AGENCY


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """The keys of a keys file."""

    keys: tuple[ApiKey, ...] = field(default_factory=tuple)

    def authenticate(self, token: str) -> Principal | None:
        """The holder of ``token``, or ``None`` when no key matches.

        Every stored hash is compared, in constant time, so the answer takes as long for a
        wrong key as for a right one.
        """
        digest = hash_token(token)
        found: ApiKey | None = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.sha256):
                found = key
        if found is None:
            return None
        return Principal(found.name, found.role, found.country, found.agency, found.scope)

    def names(self) -> list[str]:
        return [k.name for k in self.keys]


class KeysUnavailable(AuthenticationError):
    """The keys cannot be read (the database is down): no key can be checked (503)."""


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or ``None`` when there is none."""
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class KeyBackend(AuthenticationBackend):
    """Starlette authentication by ``Authorization: Bearer <key>``; no key, no entry.

    Parameters
    ----------
    keyring
        Returns the current keys of the app a connection is to.
    """

    def __init__(self, keyring: Callable[[HTTPConnection], KeyRing]) -> None:
        self.keyring = keyring

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser]:
        token = bearer_token(conn.headers)
        if token is None:
            raise AuthenticationError(
                "missing API key: send the header 'Authorization: Bearer <key>'"
            )
        try:
            principal = self.keyring(conn).authenticate(token)
        except ConfigurationError as err:
            log.error("cannot check API keys: %s", err)
            raise KeysUnavailable(
                "the service cannot read its API keys (its database is unavailable); "
                "tell its operator"
            ) from None
        if principal is None:
            raise AuthenticationError(
                "unknown API key: check the key, or ask for one (crossplan keys add)"
            )
        return AuthCredentials(principal.scopes), principal


class KeyStore:
    """The keys table of the shared database, as the service reads it.

    Parameters
    ----------
    db
        The shared database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ring: KeyRing | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def read(self) -> KeyRing:
        """Every key as stored now.

        Raises
        ------
        ConfigurationError
            The database cannot be read.
        """
        keys = [
            ApiKey(
                name=r.name,
                role=Role(r.role),
                country=r.country,
                agency=r.agency,
                sha256=r.sha256,
                created_at=r.created_at,
                scope=Scope(r.scope),
            )
            for r in list_keys(self.db)
        ]
        return KeyRing(tuple(keys))

    def current(self) -> KeyRing:
        """The keys, read again at most every second (a revoked key stops within a second)."""
        with self._lock:
            now = time.monotonic()
            if self._ring is None or now - self._read_at > _REFRESH_SECONDS:
                self._ring = self.read()
                self._read_at = now
            return self._ring


def add_key(
    keys: KeyStore,
    name: str,
    role: Role,
    *,
    country: str | None = None,
    agency: str | None = None,
    scope: Scope = Scope.AGENCY,
    replace: bool = False,
    actor: str = "cli",
) -> str:
    """Create a key for ``name`` and return the token (it is not stored anywhere).

    Parameters
    ----------
    country, agency
        Whom the key belongs to: an ISO 3166-1 alpha-3 code and the agency's name. A
        reporter needs a country: it submits that country's rows.
    scope
        Which units its plans command: its agency's (``agency``), or every unit of its
        country (``national``: a national coordination centre's key, which needs a country).
    replace
        Revoke the key ``name`` already has, if any, instead of refusing.
    actor
        Who makes the change, for the audit trail.

    Raises
    ------
    ConfigurationError
        Bad name or country, a reporter or a national scope without a country, or a key
        with that name exists (and ``replace`` is false).
    """
    if not _NAME.match(name):
        raise ConfigurationError(
            f"bad key name {name!r} — fix: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if country is not None and not _COUNTRY.match(country):
        raise ConfigurationError(
            f"bad country {country!r} — fix: use the ISO 3166-1 alpha-3 code, e.g. GRC"
        )
    if role is Role.REPORTER and country is None:
        raise ConfigurationError(
            "a reporter submits its own country's rows — fix: give --country ISO3"
        )
    if scope is Scope.NATIONAL and country is None:
        raise ConfigurationError(
            "a national scope commands every unit of a country — fix: give --country ISO3 "
            "(a key without a country is the operator's, whose plans bind no one)"
        )
    if agency is not None and not 0 < len(agency.strip()) <= 200:
        raise ConfigurationError("--agency must be 1-200 characters")
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = datetime.now(UTC).isoformat(timespec="microseconds")
    stored = KeyRecord(name, role.value, country, agency, hash_token(token), created, scope.value)
    replaced = store_key(keys.db, stored, replace=replace)
    action = "key_replaced" if replaced else "key_added"
    record_event(
        keys.db,
        actor,
        action,
        name=name,
        role=role.value,
        country=country,
        agency=agency,
        scope=scope.value,
    )
    return token


def revoke_key(keys: KeyStore, name: str, *, actor: str = "cli") -> None:
    """Delete the key of ``name`` (the audit trail keeps the record).

    Raises
    ------
    ConfigurationError
        No key has that name.
    """
    if not delete_key(keys.db, name):
        raise ConfigurationError(
            f"no key named '{name}' in {keys.db.describe()} — fix: `crossplan keys list` "
            "shows the names"
        )
    record_event(keys.db, actor, "key_revoked", name=name)
