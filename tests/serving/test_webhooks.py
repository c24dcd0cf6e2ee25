"""Webhooks: which URLs are refused, and what the table lets each agency see and delete.

Host names resolve through a fixed table, so nothing leaves the machine. How deliveries reach
(or do not reach) real local receivers is ``test_webhook_deliveries.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from crossplan.pipelines.database import Database, audit_trail
from crossplan.pipelines.errors import DataValidationError
from crossplan.serving.auth import KeyStore, Principal, Role, add_key
from crossplan.serving.http_errors import WebhookNotFoundError
from crossplan.serving.webhook_registry import (
    WebhookTarget,
    add_webhook,
    delete_webhook,
    list_webhooks,
    webhooks,
)
from crossplan.serving.webhook_urls import MAX_URL_LENGTH, check_url, redact

LOCAL = ("127.0.0.1",)  # the allow-list of the tests' receivers
PUBLIC = "93.184.216.34"  # a public address a test name resolves to (never connected to)

# Keys of agencies: GRC's border police, another GRC agency, MKD's border police, the operator.
KEYS = {
    "grc-analyst": (Role.ANALYST, "GRC", "Border Police"),
    "grc-police": (Role.ANALYST, "GRC", "National Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
    "planner": (Role.PLANNER, None, None),
    "admin": (Role.ADMIN, None, None),
}


def who(name: str) -> Principal:
    role, country, agency = KEYS[name]
    return Principal(name, role, country, agency)


def dns(table: dict[str, list[str]]) -> Any:
    """A resolver answering from ``table`` (and failing as DNS does for other names)."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


# -- which URLs are refused --------------------------------------------------------------------

_NAMES = dns(
    {
        "hooks.example.org": [PUBLIC],
        "internal.example.org": ["10.20.30.40"],
        "mixed.example.org": [PUBLIC, "127.0.0.1"],
        "mapped.example.org": ["::ffff:127.0.0.1"],
        "metadata.example.org": ["169.254.169.254"],
    }
)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://127.0.0.1/alerts", "loopback"),  # IPv4 loopback
        ("https://127.9.9.9:8443/alerts", "loopback"),  # all of 127/8 is loopback
        ("https://localhost/alerts", "names this machine"),  # loopback by name
        ("https://api.localhost/alerts", "names this machine"),  # *.localhost too (RFC 6761)
        ("https://LOCALHOST./alerts", "names this machine"),  # upper case, trailing dot
        ("https://0.0.0.0/alerts", "unspecified"),  # "any address": this machine
        ("https://[::]/alerts", "unspecified"),  # the same in IPv6
        ("https://[::1]/alerts", "loopback"),  # IPv6 loopback
        ("https://2130706433/alerts", "is a number"),  # 127.0.0.1 as one decimal number
        ("https://0x7f.1/alerts", "is a number"),  # 127.0.0.1 in hex, short form
        ("https://0x7f000001/alerts", "is a number"),  # 127.0.0.1 as one hex number
        ("https://0177.0.0.1/alerts", "is a number"),  # 127.0.0.1 in octal
        ("https://127.1/alerts", "is a number"),  # 127.0.0.1, short form
        ("https://[::ffff:127.0.0.1]/alerts", "IPv6 form"),  # IPv4-mapped IPv6
        ("https://[::ffff:a9fe:a9fe]/alerts", "metadata"),  # mapped metadata address
        ("https://[2002:7f00:1::]/alerts", "IPv6 form"),  # 6to4 around 127.0.0.1
        ("https://[64:ff9b::a00:1]/alerts", "IPv6 form"),  # NAT64 around 10.0.0.1
        ("https://169.254.169.254/latest/meta-data", "metadata"),  # the cloud's metadata
        ("https://metadata.google.internal/", "metadata service"),  # the same, by name
        ("https://169.254.10.1/alerts", "link-local"),  # link-local
        ("https://[fe80::1]/alerts", "link-local"),  # IPv6 link-local
        ("https://[fe80::1%25eth0]/alerts", "network interface"),  # with a zone id
        ("https://10.0.0.8/alerts", "private"),  # RFC 1918
        ("https://192.168.1.20:8443/alerts", "private"),  # RFC 1918, other port
        ("https://[fd00::5]/alerts", "private"),  # IPv6 unique local
        ("https://100.64.0.1/alerts", "not public"),  # carrier-grade NAT
        ("https://224.0.0.251/alerts", "multicast"),  # multicast
        ("https://240.0.0.1/alerts", "reserved"),  # reserved (class E)
        ("https://internal.example.org/alerts", "private"),  # a name resolving inside
        ("https://mixed.example.org/alerts", "loopback"),  # one bad address of several
        ("https://mapped.example.org/alerts", "IPv6 form"),  # a name resolving to mapped
        ("https://metadata.example.org/alerts", "metadata"),  # a name resolving to metadata
        ("https://nowhere.example.org/alerts", "does not resolve"),  # no address at all
        ("http://hooks.example.org/alerts", "plain http"),  # unencrypted, host not allowed
        ("ftp://hooks.example.org/alerts", "scheme"),  # not a web scheme
        ("file:///etc/passwd", "no host"),  # a local file
        ("javascript:alert(1)", "no host"),  # not a location at all
        ("https://user:pw@hooks.example.org/alerts", "user name or password"),  # credentials
        ("https://token@hooks.example.org/alerts", "user name or password"),  # a user only
        ("https://hooks.example.org/a\r\nX-Evil: 1", "control character"),  # header injection
        ("https://hooks.example.org/a%0d%0a\n", "control character"),  # a raw LF at the end
        ("https://hooks.example.org/a\tb", "control character"),  # a tab parsers drop
        ("https://hooks.example.org/a b", "a space"),  # a space
        ("https://hooks.example.org\\@127.0.0.1/", "'\\\\'"),  # backslash parser confusion
        ("https://hööks.example.org/alerts", "'ö'"),  # non-ASCII (write it as xn--)
        ("https://hooks.example.org/alerts#top", "fragment"),  # a fragment
        ("https://hooks.example.org:22/alerts", "port 22"),  # a system service's port
        ("https://hooks.example.org:99999/alerts", "not a URL"),  # no such port
        ("https://hooks_example.org/alerts", "not a valid host name"),  # bad host syntax
        ("https://" + "a" * 1990 + ".org/", "characters long"),  # too long to store
    ],
)
def test_a_webhook_url_is_refused_saying_why_and_how_to_fix_it(url: str, says: str) -> None:
    with pytest.raises(DataValidationError) as caught:
        check_url(url, (), _NAMES)
    problem = caught.value.problems[0]
    assert says in problem.message
    assert problem.column == "url" and problem.fix
    assert "pw" not in str(caught.value) and "token" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "allow", "address"),
    [
        ("https://hooks.example.org/alerts?token=abc", (), PUBLIC),  # https to a public host
        ("https://HOOKS.example.org./alerts", (), PUBLIC),  # case and a trailing dot
        ("https://hooks.example.org:8443/alerts", (), PUBLIC),  # a high port
        ("https://93.184.216.34/alerts", (), PUBLIC),  # a public address
        ("http://127.0.0.1:8080/alerts", LOCAL, "127.0.0.1"),  # an allowed local receiver
        ("http://internal.example.org/x", ("internal.example.org",), "10.20.30.40"),  # allowed
        ("https://[::1]:8443/alerts", ("[::1]",), "::1"),  # allowed, written in brackets
    ],
)
def test_a_sound_url_passes_and_names_the_address_to_post_to(
    url: str, allow: tuple[str, ...], address: str
) -> None:
    assert check_url(url, allow, _NAMES).address == address


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # metadata, even when allowed
        "http://0.0.0.0:8080/alerts",  # unspecified, even when allowed
    ],
)
def test_an_allowed_host_still_never_reaches_metadata_or_the_unspecified_address(
    url: str,
) -> None:
    with pytest.raises(DataValidationError):
        check_url(url, ("169.254.169.254", "0.0.0.0"), _NAMES)


def test_the_shown_url_hides_every_query_value_and_any_credentials() -> None:
    url = "https://u:pw@Hooks.example.org:8443/in/x?token=s3cret&team=7&flag#frag"
    assert redact(url) == "https://hooks.example.org:8443/in/x?token=***&team=***&***"


# -- the table: registering, listing, deleting ------------------------------------------------


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A database of each kind with the keys of :data:`KEYS`."""
    database = Database.connect(database_url)
    _add_keys(database)
    yield database
    database.dispose()


def _add_keys(database: Database) -> None:
    keys = KeyStore(database)
    for name, (role, country, agency) in KEYS.items():
        add_key(keys, name, role, country=country, agency=agency)


def _register(db: Database, name: str, url: str, **options: Any) -> WebhookTarget:
    return add_webhook(db, who(name), url, resolve=_NAMES, **options)


def test_listing_shows_an_agencys_webhooks_redacted_and_an_operator_sees_all(
    db: Database,
) -> None:
    grc = _register(
        db, "grc-analyst", "https://hooks.example.org/grc?token=s3cret", secret="x" * 16
    )
    police = _register(db, "grc-police", "https://hooks.example.org/police")
    mkd = _register(db, "mkd-analyst", "https://hooks.example.org/mkd?key=k3y")
    assert grc.url == "https://hooks.example.org/grc?token=***" and grc.signed

    def listed(name: str) -> list[int]:
        return [h.id for h in list_webhooks(db, who(name))]

    assert listed("grc-analyst") == [grc.id]  # its agency's, not the other GRC agency's
    assert listed("grc-police") == [police.id]
    assert listed("mkd-analyst") == [mkd.id]
    assert listed("planner") == [grc.id, police.id, mkd.id]  # the operator's key: all
    shown = json.dumps([h.to_dict() for h in list_webhooks(db, who("planner"))])
    assert "s3cret" not in shown and "k3y" not in shown and "x" * 16 not in shown
    assert "s3cret" not in repr(list_webhooks(db, who("grc-analyst")))


@pytest.mark.parametrize(
    ("deleter", "found"),
    [
        ("grc-analyst", True),  # the key that registered it
        ("grc-police", False),  # the same country, another agency
        ("mkd-analyst", False),  # another country
        ("planner", False),  # an operator key that is not an admin
        ("admin", True),  # an admin deletes any
    ],
)
def test_a_webhook_is_deleted_by_its_agency_or_an_admin_and_not_found_by_others(
    db: Database, deleter: str, found: bool
) -> None:
    hook = _register(db, "grc-analyst", "https://hooks.example.org/grc?token=s3cret")
    if not found:
        with pytest.raises(WebhookNotFoundError, match=f"no webhook {hook.id}"):
            delete_webhook(db, who(deleter), hook.id)
        assert [h.id for h in webhooks(db)] == [hook.id]
        return
    assert delete_webhook(db, who(deleter), hook.id).id == hook.id
    assert webhooks(db) == []
    with pytest.raises(WebhookNotFoundError):  # and once gone, gone for everyone
        delete_webhook(db, who("admin"), hook.id)
    deleted = audit_trail(db, action="webhook_deleted")[0]
    assert deleted.actor == deleter
    assert deleted.detail["webhook_id"] == hook.id
    assert deleted.detail["country"] == "GRC" and deleted.detail["agency"] == "Border Police"


def test_registering_is_audited_without_the_secret(db: Database) -> None:
    hook = _register(
        db, "grc-analyst", "https://hooks.example.org/grc?token=s3cret", secret="y" * 20
    )
    added = audit_trail(db, action="webhook_added")[0]
    assert added.actor == "grc-analyst"
    assert added.detail == {"webhook_id": hook.id, "url": "https://hooks.example.org/grc?token=***",
                            "country": "GRC", "agency": "Border Police", "signed": True}  # fmt: skip


@pytest.mark.parametrize(
    ("url", "secret", "says"),
    [
        ("https://hooks.example.org/other", "short", "16-200 printable"),  # too short
        ("https://hooks.example.org/other", "spaces are not ok", "16-200 printable"),  # spaces
        ("https://hooks.example.org/grc", None, "already posts to this URL"),  # a duplicate
    ],
)
def test_a_bad_secret_or_a_second_identical_webhook_is_refused(
    db: Database, url: str, secret: str | None, says: str
) -> None:
    _register(db, "grc-analyst", "https://hooks.example.org/grc")
    with pytest.raises(DataValidationError, match=says):
        _register(db, "grc-analyst", url, secret=secret)
    assert len(webhooks(db)) == 1


def test_an_agency_has_at_most_ten_webhooks(db: Database) -> None:
    for n in range(10):
        _register(db, "grc-analyst", f"https://hooks.example.org/{n}")
    with pytest.raises(DataValidationError, match="the most it may have"):
        _register(db, "grc-analyst", "https://hooks.example.org/eleventh")
    _register(db, "mkd-analyst", "https://hooks.example.org/eleventh")  # another agency may


def test_the_shown_form_of_a_long_url_fits_the_column() -> None:
    """``a=1`` shows as ``a=***``: a long query of short values would outgrow the 2000
    characters PostgreSQL keeps (SQLite keeps any length)."""
    url = "https://hooks.example.org/x?" + "&".join(["a=1"] * 490)
    assert len(url) <= MAX_URL_LENGTH < len(url.replace("=1", "=***"))
    shown = redact(url)
    assert len(shown) == MAX_URL_LENGTH and shown.endswith("…")
