"""The keys table: stored, replaced only when asked, deleted, and the agencies holding keys."""

from __future__ import annotations

import hashlib

import pytest

from crossplan.pipelines.database import (
    Database,
    KeyRecord,
    delete_key,
    key_agencies,
    list_keys,
    store_key,
)
from crossplan.pipelines.errors import ConfigurationError


def _key(
    name: str,
    country: str | None = None,
    agency: str | None = None,
    *,
    role: str = "analyst",
    created_at: str = "2026-03-02T10:00:00.000000+00:00",
) -> KeyRecord:
    sha256 = hashlib.sha256(f"{name}/{role}".encode()).hexdigest()
    return KeyRecord(name, role, country, agency, sha256, created_at)


@pytest.fixture
def db(database_url: str) -> Database:
    return Database.connect(database_url)


def test_keys_come_back_as_stored_oldest_first(db: Database) -> None:
    bob = _key("bob", "GRC", "Border Police", created_at="2026-03-02T11:00:00.000000+00:00")
    alice = _key("alice", role="admin")
    store_key(db, bob)
    store_key(db, alice)
    assert list_keys(db) == [alice, bob]


def test_a_name_is_replaced_only_when_asked(db: Database) -> None:
    assert store_key(db, _key("alice")) is False  # a new key
    with pytest.raises(ConfigurationError, match=r"a key named 'alice' already exists .*--replace"):
        store_key(db, _key("alice", role="admin"))
    assert list_keys(db) == [_key("alice")]  # the refused one left nothing behind
    assert store_key(db, _key("alice", role="admin"), replace=True) is True
    assert list_keys(db) == [_key("alice", role="admin")]


def test_deleting_says_whether_there_was_a_key(db: Database) -> None:
    store_key(db, _key("alice"))
    assert delete_key(db, "alice") is True
    assert delete_key(db, "alice") is False
    assert list_keys(db) == []


def test_each_agency_holding_keys_is_named_once(db: Database) -> None:
    for name, country, agency in [
        ("ops", None, None),  # the operator's: no agency to raise alerts for
        ("grc-1", "GRC", "Border Police"),
        ("grc-2", "GRC", "Border Police"),  # the same agency again
        ("mkd-1", "MKD", None),  # a country without an agency name
    ]:
        store_key(db, _key(name, country, agency))
    assert sorted(key_agencies(db), key=str) == [("GRC", "Border Police"), ("MKD", None)]
