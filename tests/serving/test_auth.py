"""API keys: hashed at rest, checked in constant time, roles, and a keys file that can go bad."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from pipelines.errors import ConfigurationError
from serving.auth import KeysFile, Permission, Principal, Role, add_key, hash_token, revoke_key


def test_a_new_key_authenticates_its_holder_and_is_stored_only_hashed(tmp_path: Path) -> None:
    keys = KeysFile(tmp_path / "api_keys.json")
    token = add_key(keys, "alice", Role.PLANNER)
    text = keys.path.read_text()
    assert token not in text
    assert hash_token(token) in text
    assert keys.read().authenticate(token) == Principal("alice", Role.PLANNER)
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "token",
    [
        "",  # empty
        "cpk_not-a-key",  # well-formed prefix, unknown key
        "x" * 10_000,  # very long
    ],
)
def test_an_unknown_key_authenticates_nobody(tmp_path: Path, token: str) -> None:
    keys = KeysFile(tmp_path / "api_keys.json")
    add_key(keys, "alice", Role.ADMIN)
    assert keys.read().authenticate(token) is None


def test_keys_are_distinct_and_each_names_its_holder(tmp_path: Path) -> None:
    keys = KeysFile(tmp_path / "api_keys.json")
    tokens = {role: add_key(keys, f"holder-{role.value}", role) for role in Role}
    assert len(set(tokens.values())) == len(Role)
    ring = keys.read()
    for role, token in tokens.items():
        assert ring.authenticate(token) == Principal(f"holder-{role.value}", role)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ANALYST, {Permission.READ}),  # read only
        (Role.PLANNER, {Permission.READ, Permission.PLAN}),  # forecast, plan, read
        (Role.ADMIN, {Permission.READ, Permission.PLAN, Permission.ADMIN}),  # also reload
    ],
)
def test_roles_grant_what_the_design_says(role: Role, allowed: set[Permission]) -> None:
    principal = Principal("someone", role)
    assert {p for p in Permission if principal.may(p)} == allowed


def test_a_name_is_used_once_and_revoking_frees_it(tmp_path: Path) -> None:
    keys = KeysFile(tmp_path / "api_keys.json")
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
    keys = KeysFile(tmp_path / "api_keys.json")
    with pytest.raises(ConfigurationError, match="bad key name"):
        add_key(keys, name, Role.PLANNER)
    assert not keys.path.exists()


_GOOD = {"name": "alice", "role": "planner", "sha256": "a" * 64, "created_at": ""}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "line 1: not valid JSON"),  # syntax error
        ("[]", "not a keys file"),  # wrong top level
        (
            json.dumps({"keys": [{**_GOOD, "role": "root"}]}),
            r"keys\[0\]\.role: Input should be 'analyst', 'planner' or 'admin'",
        ),
        (
            json.dumps({"keys": [{**_GOOD, "sha256": "abc"}]}),
            r"keys\[0\]\.sha256: String should match",
        ),
        (
            json.dumps({"keys": [{"name": "alice"}]}),
            r"keys\[0\]\.role: 'role' is missing",
        ),  # missing fields
        (json.dumps({"keys": [_GOOD, _GOOD]}), "name 'alice' is used by more than one key"),
    ],
)
def test_a_malformed_keys_file_says_where_and_how_to_fix(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "api_keys.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message) as info:
        KeysFile(path).read()
    assert str(path) in str(info.value)
    assert "fix:" in str(info.value)


def test_the_service_view_follows_the_file_and_survives_it_turning_bad(tmp_path: Path) -> None:
    keys = KeysFile(tmp_path / "api_keys.json")
    assert keys.current().keys == ()  # no file yet: no keys
    token = add_key(keys, "alice", Role.PLANNER)
    assert keys.current().authenticate(token) is not None  # picked up without a restart
    keys.path.write_text("{broken")
    with pytest.raises(ConfigurationError):
        keys.current()  # reported once ...
    assert keys.current().authenticate(token) is not None  # ... the last good keys stay
