"""Webhooks: which URLs are refused, how deliveries reach (or do not reach) real local
receivers, and what the table lets each agency see and delete.

Every receiver is an HTTP server on 127.0.0.1, named in the sender's allow-list the way an
operator names a host in ``CROSSPLAN_WEBHOOK_ALLOW``; host names resolve through a fixed
table, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipelines.database import Database, audit_trail
from pipelines.database.schema import ApiKeyRow
from pipelines.errors import DataValidationError
from serving.auth import KeyStore, Principal, Role, add_key, revoke_key
from serving.errors import WebhookNotFoundError
from serving.webhook_registry import (
    WebhookTarget,
    add_webhook,
    delete_webhook,
    list_webhooks,
    webhooks,
)
from serving.webhook_urls import MAX_URL_LENGTH, check_url, redact
from serving.webhooks import WebhookSender, sign

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


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A SQLite database with the keys of :data:`KEYS` (for the delivery tests)."""
    database = Database.connect(f"sqlite:///{tmp_path / 'crossplan.db'}")
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


# -- deliveries to real receivers -------------------------------------------------------------


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP server that records the posts it receives."""

    url: str
    posts: list[Post] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, seconds: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.posts) >= n, seconds)


@contextmanager
def receiving(
    answers: Iterable[int] = (),
    location: str | None = None,
    gate: threading.Event | None = None,
) -> Iterator[Receiver]:
    """A receiver answering ``answers`` in turn (then 204), with ``Location`` when given,
    each answer held until ``gate`` opens."""
    statuses = iter(answers)
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with receiver.arrived:
                receiver.posts.append(Post(self.path, dict(self.headers), body))
                receiver.arrived.notify_all()
            if gate is not None:
                gate.wait(10)
            self.send_response(next(statuses, 204))
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if gate is not None:
            gate.set()
        server.shutdown()
        server.server_close()


@contextmanager
def never_answering() -> Iterator[str]:
    """The URL of a port that takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/alerts"


@contextmanager
def sending(db: Database, **options: Any) -> Iterator[WebhookSender]:
    sender = WebhookSender(db, options.pop("allow", LOCAL), **{"first_delay": 0.01, **options})
    try:
        yield sender
    finally:
        sender.close(timeout=2)


def _local(db: Database, url: str, name: str = "grc-analyst", **options: Any) -> WebhookTarget:
    return add_webhook(db, who(name), url, allow=LOCAL, **options)


def _settled(sender: WebhookSender, n: int, seconds: float = 5) -> dict[str, int]:
    """The sender's counts once ``n`` bodies are done with (delivered or not)."""
    deadline = time.monotonic() + seconds
    while sum(sender.counts().values()) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return sender.counts()


def test_a_delivery_posts_the_json_body_to_the_full_url_signed_and_is_audited(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="serving")
    secret = "a-shared-secret-of-32-characters"
    with receiving() as receiver, sending(sqlite_db) as sender:
        hook = _local(sqlite_db, f"{receiver.url}/alerts?token=s3cret", secret=secret)
        started = time.monotonic()
        sender.send(hook, {"alert": {"region_id": "r004"}})
        assert time.monotonic() - started < 0.05  # the caller does not wait
        assert receiver.wait_for(1, 5)
        assert _settled(sender, 1) == {"delivered": 1}
    post = receiver.posts[0]
    assert post.path == "/alerts?token=s3cret"  # the full URL is what is posted to
    assert json.loads(post.body) == {"alert": {"region_id": "r004"}}
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Crossplan-Signature"] == sign(secret, post.body)
    assert post.headers["X-Crossplan-Webhook"] == str(hook.id)
    delivery = audit_trail(sqlite_db, action="webhook_delivery")[0]
    assert delivery.actor == "grc-analyst"
    assert {k: delivery.detail[k] for k in ("webhook_id", "outcome", "status", "tries", "country",
                                            "agency", "url")} == {
        "webhook_id": hook.id, "outcome": "delivered", "status": 204, "tries": 1,
        "country": "GRC", "agency": "Border Police", "url": f"{receiver.url}/alerts?token=***",
    }  # fmt: skip
    assert delivery.detail["seconds"] >= 0
    everything = json.dumps([e.detail for e in audit_trail(sqlite_db)]) + caplog.text
    assert "s3cret" not in everything and secret not in everything


@pytest.mark.parametrize(
    ("answers", "outcome", "tries"),
    [
        ([], "delivered", 1),  # accepted at once
        ([503, 502], "delivered", 3),  # down twice, then back: the third try arrives
        ([503] * 6, "failed", 6),  # never back: given up after the last try
        ([429], "delivered", 2),  # "too many requests": tried again later
        ([404], "failed", 1),  # "not found" will not change: no second try
    ],
)
def test_a_failing_receiver_is_retried_only_when_a_retry_may_succeed(
    sqlite_db: Database, answers: list[int], outcome: str, tries: int
) -> None:
    with receiving(answers) as receiver, sending(sqlite_db) as sender:
        hook = _local(sqlite_db, f"{receiver.url}/alerts")
        sender.send(hook, {"alert": {"region_id": "r004"}})
        assert _settled(sender, 1) == {outcome: 1}
    assert len(receiver.posts) == tries
    assert audit_trail(sqlite_db, action="webhook_delivery")[0].detail["tries"] == tries


def test_a_redirect_is_not_followed_and_fails_the_delivery(sqlite_db: Database) -> None:
    with receiving() as elsewhere, receiving([302], location=f"{elsewhere.url}/admin/reload") as (
        receiver
    ), sending(sqlite_db) as sender:  # fmt: skip
        hook = _local(sqlite_db, f"{receiver.url}/alerts")
        sender.send(hook, {"alert": {"region_id": "r004"}})
        assert _settled(sender, 1) == {"failed": 1}
        time.sleep(0.1)  # time enough for a followed redirect to arrive
    assert len(receiver.posts) == 1 and elsewhere.posts == []
    detail = audit_trail(sqlite_db, action="webhook_delivery")[0].detail
    assert (detail["status"], detail["outcome"]) == (302, "failed")
    assert "redirects are not followed" in detail["reason"]


def test_a_receiver_that_never_answers_delays_no_other_webhook(sqlite_db: Database) -> None:
    sender = WebhookSender(sqlite_db, LOCAL, timeout=3)
    with never_answering() as silent, receiving() as fast:
        slow_hook = _local(sqlite_db, silent)
        fast_hook = _local(sqlite_db, f"{fast.url}/alerts", name="mkd-analyst")
        for n in range(5):  # the slow one's queue fills first
            sender.send(slow_hook, {"alert": {"n": n}})
        started = time.monotonic()
        sender.send(fast_hook, {"alert": {"n": 0}})
        assert fast.wait_for(1, 2), "the fast webhook waited for the slow one"
        assert time.monotonic() - started < 1.0
        assert _settled(sender, 1) == {"delivered": 1}  # the slow one is still hanging
        sender.close(timeout=0.2)


def test_a_full_queue_drops_its_oldest_alert_and_counts_it(sqlite_db: Database) -> None:
    gate = threading.Event()
    with receiving(gate=gate) as receiver, sending(sqlite_db, queue_length=2) as sender:
        hook = _local(sqlite_db, f"{receiver.url}/alerts")
        sender.send(hook, {"n": 0})
        assert receiver.wait_for(1, 5)  # the first is in flight, held by the receiver
        for n in range(1, 5):  # 1, 2, 3, 4 into a queue of two: 1 and 2 are dropped
            sender.send(hook, {"n": n})
        assert sender.counts() == {"dropped": 2}
        gate.set()
        assert receiver.wait_for(3, 5)
        assert _settled(sender, 5) == {"dropped": 2, "delivered": 3}
    assert [json.loads(p.body)["n"] for p in receiver.posts] == [0, 3, 4]
    reported = [e.detail["dropped"] for e in audit_trail(sqlite_db, action="webhook_delivery")]
    assert sorted(reported) == [0, 0, 2]  # the drops are reported with the next delivery


def _revoke(db: Database) -> None:
    revoke_key(KeyStore(db), "grc-analyst")


def _replace(db: Database) -> None:
    add_key(KeyStore(db), "grc-analyst", Role.ANALYST, country="GRC", agency="Border Police",
            replace=True)  # fmt: skip


def _move(db: Database) -> None:
    add_key(KeyStore(db), "grc-analyst", Role.ANALYST, country="MKD", agency="Border Police",
            replace=True)  # fmt: skip


def _edit(db: Database) -> None:
    with db.write() as con:
        con.execute(sa.update(ApiKeyRow).where(ApiKeyRow.name == "grc-analyst")
                    .values(agency="Coast Guard"))  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        _revoke,  # the key is revoked
        _replace,  # a new key under the same name: the old one is revoked
        _move,  # the name now holds a key of another country
        _edit,  # the key's row edited in the database to another agency
    ],
)
def test_a_webhook_stops_when_its_key_is_revoked_replaced_or_moved(
    sqlite_db: Database, change: Any
) -> None:
    with receiving() as receiver, sending(sqlite_db) as sender:
        hook = _local(sqlite_db, f"{receiver.url}/alerts")
        sender.send(hook, {"n": 0})
        assert receiver.wait_for(1, 5)
        change(sqlite_db)
        assert webhooks(sqlite_db) == []  # the alert code finds no webhook to post to
        (listed,) = list_webhooks(sqlite_db, who("planner"))
        assert not listed.active
        sender.send(hook, {"n": 1})  # a post queued before the change was seen
        assert _settled(sender, 2) == {"delivered": 1, "stopped": 1}
    assert len(receiver.posts) == 1
    stopped = audit_trail(sqlite_db, action="webhook_delivery")[0].detail
    assert stopped["outcome"] == "stopped" and "grc-analyst" in stopped["reason"]


def test_a_deleted_webhook_gets_nothing_more(sqlite_db: Database) -> None:
    with receiving() as receiver, sending(sqlite_db) as sender:
        hook = _local(sqlite_db, f"{receiver.url}/alerts")
        delete_webhook(sqlite_db, who("grc-analyst"), hook.id)
        sender.send(hook, {"n": 0})
        assert _settled(sender, 1) == {"stopped": 1}
    assert receiver.posts == []


def test_a_name_that_resolves_elsewhere_after_registration_is_refused_at_delivery(
    sqlite_db: Database,
) -> None:
    answers = {"hooks.example.org": [PUBLIC]}
    with receiving() as receiver:
        port = receiver.url.rpartition(":")[2]
        hook = add_webhook(sqlite_db, who("grc-analyst"), f"https://hooks.example.org:{port}/a",
                           resolve=dns(answers))  # fmt: skip
        answers["hooks.example.org"] = ["127.0.0.1"]  # DNS rebinding: now the local receiver
        with sending(sqlite_db, allow=(), resolve=dns(answers)) as sender:
            sender.send(hook, {"n": 0})
            assert _settled(sender, 1) == {"refused": 1}
    assert receiver.posts == []
    detail = audit_trail(sqlite_db, action="webhook_delivery")[0].detail
    assert "loopback" in detail["reason"]


def test_a_post_goes_to_the_address_that_was_checked_with_the_host_name_kept(
    sqlite_db: Database,
) -> None:
    resolve = dns({"receiver.test": ["127.0.0.1"]})
    with receiving() as receiver:
        port = receiver.url.rpartition(":")[2]
        url = f"http://receiver.test:{port}/alerts"
        hook = add_webhook(sqlite_db, who("grc-analyst"), url, allow=("receiver.test",),
                           resolve=resolve)  # fmt: skip
        with sending(sqlite_db, allow=("receiver.test",), resolve=resolve) as sender:
            sender.send(hook, {"n": 0})
            assert receiver.wait_for(1, 5)
    assert receiver.posts[0].headers["Host"] == f"receiver.test:{port}"


def test_closing_stops_quickly_even_with_a_receiver_that_never_answers(
    sqlite_db: Database,
) -> None:
    with never_answering() as silent:
        sender = WebhookSender(sqlite_db, LOCAL, timeout=5)
        sender.send(_local(sqlite_db, silent), {"n": 0})
        time.sleep(0.1)  # the post is in flight
        started = time.monotonic()
        sender.close(timeout=0.5)
        assert time.monotonic() - started < 1.0
    sender.send(_local(sqlite_db, silent.replace("/alerts", "/later")), {"n": 1})
    assert sender.counts()["dropped"] == 1  # after closing, nothing is queued


def test_the_shown_form_of_a_long_url_fits_the_column() -> None:
    """``a=1`` shows as ``a=***``: a long query of short values would outgrow the 2000
    characters PostgreSQL keeps (SQLite keeps any length)."""
    url = "https://hooks.example.org/x?" + "&".join(["a=1"] * 490)
    assert len(url) <= MAX_URL_LENGTH < len(url.replace("=1", "=***"))
    shown = redact(url)
    assert len(shown) == MAX_URL_LENGTH and shown.endswith("…")
