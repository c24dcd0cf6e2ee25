"""API keys: hashed at rest in the database, checked in constant time, roles, agencies."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database, audit_trail
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.auth import (
    KeyStore,
    Permission,
    Principal,
    Role,
    add_key,
    hash_token,
    revoke_key,
)


@pytest.fixture
def keys(database_url: str) -> KeyStore:
    return KeyStore(Database.connect(database_url))


def test_a_new_key_authenticates_its_holder_and_is_stored_only_hashed(keys: KeyStore) -> None:
    token = add_key(keys, "alice", Role.PLANNER, country="GRC", agency="Border Police")
    with keys.db.read() as con:
        stored = " ".join(
            str(v) for row in con.execute(sa.text("SELECT * FROM api_keys")) for v in row
        )
    assert token not in stored
    assert hash_token(token) in stored
    assert keys.read().authenticate(token) == Principal(
        "alice", Role.PLANNER, "GRC", "Border Police"
    )


def test_key_changes_are_in_the_audit_trail_without_the_key(keys: KeyStore) -> None:
    token = add_key(keys, "alice", Role.ANALYST, country="GRC", actor="cli:ops")
    add_key(keys, "alice", Role.PLANNER, replace=True)
    revoke_key(keys, "alice")
    events = audit_trail(keys.db)
    assert [e.action for e in events] == ["key_revoked", "key_replaced", "key_added"]
    assert events[-1].actor == "cli:ops"
    assert events[-1].detail == {"name": "alice", "role": "analyst", "country": "GRC",
                                 "agency": None, "scope": "agency"}  # fmt: skip
    assert all(token not in str(e) and hash_token(token) not in str(e) for e in events)


@pytest.mark.parametrize(
    ("country", "message"),
    [
        (None, "a reporter submits its own country's rows"),  # a reporter needs a country
        ("Greece", "bad country"),  # not ISO 3166-1 alpha-3
    ],
)
def test_a_reporter_needs_a_country_code(keys: KeyStore, country: str | None, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        add_key(keys, "rep", Role.REPORTER, country=country)


@pytest.mark.parametrize(
    "token",
    [
        "",  # empty
        "cpk_not-a-key",  # well-formed prefix, unknown key
        "x" * 10_000,  # very long
    ],
)
def test_an_unknown_key_authenticates_nobody(tmp_path: Path, token: str) -> None:
    keys = KeyStore(Database.connect(f"sqlite:///{tmp_path / 'db'}"))
    add_key(keys, "alice", Role.ADMIN)
    assert keys.read().authenticate(token) is None


def test_keys_are_distinct_and_each_names_its_holder(tmp_path: Path) -> None:
    keys = KeyStore(Database.connect(f"sqlite:///{tmp_path / 'db'}"))
    tokens = {role: add_key(keys, f"holder-{role.value}", role, country="GRC") for role in Role}
    assert len(set(tokens.values())) == len(Role)
    ring = keys.read()
    for role, token in tokens.items():
        assert ring.authenticate(token) == Principal(f"holder-{role.value}", role, "GRC")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.REPORTER, {Permission.SUBMIT}),  # its country's rows, nothing else
        (Role.ANALYST, {Permission.READ}),  # read only
        (Role.PLANNER, {Permission.READ, Permission.PLAN}),  # forecast, plan, read
        (Role.ADMIN, set(Permission)),  # also reload, submit for any country, audit
    ],
)
def test_roles_grant_what_the_design_says(role: Role, allowed: set[Permission]) -> None:
    principal = Principal("someone", role)
    assert {p for p in Permission if principal.may(p)} == allowed


def test_a_name_is_used_once_and_revoking_frees_it(keys: KeyStore) -> None:
    first = add_key(keys, "alice", Role.PLANNER)
    with pytest.raises(ConfigurationError, match="already exists"):
        add_key(keys, "alice", Role.ADMIN)
    revoke_key(keys, "alice")
    assert keys.read().authenticate(first) is None
    second = add_key(keys, "alice", Role.ANALYST)
    assert keys.read().authenticate(second) == Principal("alice", Role.ANALYST)
    with pytest.raises(ConfigurationError, match="no key named 'bob'"):
        revoke_key(keys, "bob")


@pytest.mark.parametrize("name", ["", "-starts-with-dash", "has space", "x" * 65, "ünïcode"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    keys = KeyStore(Database.connect(f"sqlite:///{tmp_path / 'db'}"))
    with pytest.raises(ConfigurationError, match="bad key name"):
        add_key(keys, name, Role.PLANNER)
    assert keys.read().keys == ()


def test_the_service_view_follows_the_table(tmp_path: Path) -> None:
    keys = KeyStore(Database.connect(f"sqlite:///{tmp_path / 'db'}"))
    assert keys.current().keys == ()  # no keys yet
    token = add_key(keys, "alice", Role.PLANNER)
    keys._read_at = 0.0  # as if a second had passed
    assert keys.current().authenticate(token) is not None  # picked up without a restart


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_keys_never_reach_the_plan_store(
    client: TestClient, served: dict[str, str], tmp_path: Path
) -> None:
    r = client.post("/plan", json={"horizon": 1}, headers=bearer(served["planner"]))
    assert r.status_code == 200
    stored = b"".join(p.read_bytes() for p in (tmp_path / "home").glob("crossplan.db*"))
    assert r.json()["plan_id"].encode() in stored
    assert all(token.encode() not in stored for token in served.values())
