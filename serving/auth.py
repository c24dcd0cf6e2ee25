"""API keys of the planning service: roles, the hashed keys file, and checking a key.

A key is a random token shown once, when it is made. The keys file keeps only its SHA-256
(the token has 256 bits of entropy, so a plain hash cannot be reversed by guessing), with the
name of its holder and a role:

=========  ============================================================
``analyst``  read plans and the model card
``planner``  also request forecasts and plans
``admin``    also reload the model
=========  ============================================================
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection

from optimize.errors import pydantic_problems
from pipelines.errors import ConfigurationError

__all__ = [
    "ApiKey",
    "KeyBackend",
    "KeyRing",
    "KeysFile",
    "KeysUnavailable",
    "Permission",
    "Principal",
    "Role",
    "add_key",
    "hash_token",
    "revoke_key",
]

_FORMAT = "crossplan-api-keys/1"
_TOKEN_PREFIX = "cpk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

log = logging.getLogger(__name__)


class Role(StrEnum):
    """What a key holder is."""

    ANALYST = "analyst"
    PLANNER = "planner"
    ADMIN = "admin"


class Permission(StrEnum):
    """What an endpoint needs."""

    READ = "read"
    PLAN = "plan"
    ADMIN = "admin"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ANALYST: frozenset({Permission.READ}),
    Role.PLANNER: frozenset({Permission.READ, Permission.PLAN}),
    Role.ADMIN: frozenset({Permission.READ, Permission.PLAN, Permission.ADMIN}),
}


@dataclass(frozen=True)
class Principal(BaseUser):
    """The holder of a valid key: Starlette's ``request.user``."""

    name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in _GRANTS[self.role]

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
    """One entry of the keys file (never the token itself)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME.pattern, description="Who holds the key")
    role: Role
    sha256: str = Field(pattern=_SHA256.pattern, description="SHA-256 hex digest of the token")
    created_at: str = ""


class _KeysDocument(BaseModel):
    """The keys file: ``{"format": "crossplan-api-keys/1", "keys": [...]}``."""

    model_config = ConfigDict(extra="forbid")

    format: str = _FORMAT
    keys: list[ApiKey]


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
        return None if found is None else Principal(found.name, found.role)

    def names(self) -> list[str]:
        return [k.name for k in self.keys]

    def to_json(self) -> dict[str, Any]:
        return _KeysDocument(keys=list(self.keys)).model_dump(mode="json")

    @classmethod
    def from_json(cls, doc: Any, path: Path) -> KeyRing:
        """Parse a keys document; every problem is reported with its place."""
        fix = f"repair {path} or delete it and create keys again with `crossplan keys add`"
        if not isinstance(doc, dict):
            raise ConfigurationError(f"{path}: not a keys file (no 'keys' list) — fix: {fix}")
        try:
            keys = _KeysDocument.model_validate(doc).keys
        except ValidationError as err:
            problems = [
                f"{p.where or 'the document'}: {p.message}" for p in pydantic_problems(err.errors())
            ]
            raise ConfigurationError(f"{path}: " + "; ".join(problems) + f" — fix: {fix}") from None
        names = [k.name for k in keys]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigurationError(
                f"{path}: "
                + "; ".join(f"name '{n}' is used by more than one key" for n in repeated)
                + f" — fix: {fix}"
            )
        return cls(tuple(keys))


class KeysUnavailable(AuthenticationError):
    """The keys file cannot be read: no key can be checked (503)."""


class KeyBackend(AuthenticationBackend):
    """Starlette authentication by ``Authorization: Bearer <key>``; no key, no entry.

    Parameters
    ----------
    keyring
        Returns the current keys (re-read when the keys file changes).
    """

    def __init__(self, keyring: Callable[[], KeyRing]) -> None:
        self.keyring = keyring

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser]:
        scheme, _, token = (conn.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError(
                "missing API key: send the header 'Authorization: Bearer <key>'"
            )
        try:
            principal = self.keyring().authenticate(token)
        except ConfigurationError as err:
            log.error("cannot check API keys: %s", err)
            raise KeysUnavailable(
                "the service cannot read its API keys file; tell its operator"
            ) from None
        if principal is None:
            raise AuthenticationError(
                "unknown API key: check the key, or ask for one (crossplan keys add)"
            )
        return AuthCredentials(principal.scopes), principal


class KeysFile:
    """The keys file on disk, re-read whenever it changes.

    Parameters
    ----------
    path
        ``$CROSSPLAN_HOME/api_keys.json`` or ``CROSSPLAN_API_KEYS_FILE``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._ring = KeyRing()

    def read(self) -> KeyRing:
        """The keys as they are on disk; an empty ring when there is no file yet.

        Raises
        ------
        ConfigurationError
            The file is not valid JSON or not a keys file.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return KeyRing()
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigurationError(f"{self.path}: cannot read the keys file ({err})") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigurationError(
                f"{self.path}, line {err.lineno}: not valid JSON ({err.msg}) — fix: repair it or "
                "delete it and create keys again with `crossplan keys add`"
            ) from None
        return KeyRing.from_json(doc, self.path)

    def current(self) -> KeyRing:
        """The keys, re-read only when the file's modification time or size changed.

        A file that turns bad while the service runs keeps the last good keys in force
        (the error is raised once, for the log).
        """
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._ring = self.read()
        return self._ring

    def write(self, ring: KeyRing) -> None:
        """Replace the file atomically (readable by its owner only)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".api_keys.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(ring.to_json(), f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def locked(self) -> Iterator[KeyRing]:
        """Hold the file's lock while reading, changing and writing it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield self.read()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def add_key(keys: KeysFile, name: str, role: Role, *, replace: bool = False) -> str:
    """Create a key for ``name`` and return the token (it is not stored anywhere).

    Parameters
    ----------
    replace
        Revoke the key ``name`` already has, if any, instead of refusing.

    Raises
    ------
    ConfigurationError
        Bad name, or a key with that name exists (and ``replace`` is false).
    """
    if not _NAME.match(name):
        raise ConfigurationError(
            f"bad key name {name!r} — fix: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    with keys.locked() as ring:
        if name in ring.names() and not replace:
            raise ConfigurationError(
                f"a key named '{name}' already exists in {keys.path} — fix: choose another "
                f"name, or replace it (`crossplan keys add {name} --replace`)"
            )
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        kept = tuple(k for k in ring.keys if k.name != name)
        key = ApiKey(name=name, role=role, sha256=hash_token(token), created_at=created)
        keys.write(KeyRing((*kept, key)))
    return token


def revoke_key(keys: KeysFile, name: str) -> None:
    """Delete the key of ``name``.

    Raises
    ------
    ConfigurationError
        No key has that name.
    """
    with keys.locked() as ring:
        if name not in ring.names():
            raise ConfigurationError(
                f"no key named '{name}' in {keys.path} — fix: `crossplan keys list` shows the names"
            )
        keys.write(KeyRing(tuple(k for k in ring.keys if k.name != name)))
