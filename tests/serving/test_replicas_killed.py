"""Two replicas on one PostgreSQL database, one of them killed again and again: no alert is
lost, none is stored twice, and each webhook post is received once per delivery id.

Replica A takes most submissions; at a few seeded random moments, while one is in flight, its
whole process tree is killed (SIGKILL, as a power cut) and the reporter, whose connection
dropped, sends the same file to replica B (a repeat if A had committed it). A then starts
again. Whatever A held (a submission's alerts not raised or half raised, posts in flight) is
taken over once its lease (``CROSSPLAN_OUTBOX_LEASE``) runs out.

At the end every submission's alerts are stored exactly once per reader, and are what the
panels as of the submission give; every delivery was posted, and a receiver that drops a
delivery id it has seen (``Idempotency-Key``) got each one once. Repeats are possible only
for a post that arrived as its replica died: at most one per kill.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from crossplan.pipelines.database import (
    AlertJob,
    AlertRecord,
    Database,
    Submitter,
    import_directory,
    list_alerts,
    list_submissions,
    outbox_counts,
)
from crossplan.serving.alert_jobs import submission_alerts
from crossplan.serving.auth import KeyStore, Principal, Role, add_key
from crossplan.serving.settings import Settings
from crossplan.serving.sharing import OPERATOR, Audience
from crossplan.serving.snapshot import load_snapshot
from crossplan.serving.webhook_registry import add_webhook
from tests.postgres import fresh_database
from tests.serving.receivers import LOCAL, Post, Receiver, receiving

Server = Any  # tests.serving.conftest.Server: a running server and a client pointed at it

pytestmark = pytest.mark.slow

SEED = 20260302
SUBMISSIONS = 20
KILLS = 3
LEASE = 3  # seconds: how long a dead replica's work waits for another
KEYS = {
    "grc-reporter": (Role.REPORTER, "GRC", "Border Police"),
    "mkd-reporter": (Role.REPORTER, "MKD", "Border Police"),
    "grc-analyst": (Role.ANALYST, "GRC", "Border Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
    "planner": (Role.PLANNER, None, None),
}
HOOKED = {"grc-analyst": "GRC/Border Police", "mkd-analyst": "MKD/Border Police", "planner": "*"}
REGIONS = {"grc-reporter": ["r002", "r004", "r005", "r007"], "mkd-reporter": ["r001", "r009"]}
CATEGORIES = ["smuggling_of_migrants", "trafficking_in_persons"]


def _rows(rng: random.Random, n: int) -> tuple[str, dict[str, Any]]:
    """A reporter and a submission far above the stand-in forecast's q90 in one cell."""
    reporter = rng.choice(sorted(REGIONS))
    row = {"region_id": rng.choice(REGIONS[reporter]), "period": "2024-02-26",
           "category": rng.choice(CATEGORIES), "reported": 300 + n, "detected": 50,
           "effort": 1.0}  # fmt: skip
    return reporter, {"rows": [row]}


def _readers() -> dict[str, Audience]:
    agencies = [label for label in HOOKED.values() if label != "*"]
    return {"*": OPERATOR, **{label: Audience(*label.split("/")) for label in agencies}}


def _naive(moment: str) -> datetime:
    return pd.Timestamp(moment).tz_convert(None).to_pydatetime()


def _expected(db: Database, settings: Settings) -> dict[int, list[AlertRecord]]:
    """What each submission's alerts must be: raised afresh, here, from the panels as of the
    submission and as of the one before."""
    snapshot = load_snapshot(settings, db)
    history = sorted(list_submissions(db, limit=1000), key=lambda s: s.id)
    expected = {}
    for n, s in enumerate(history):
        if s.kind != "incidents" or s.key_name not in REGIONS:
            continue
        earlier = tuple((e.id, _naive(e.received_at)) for e in reversed(history[:n]))
        job = AlertJob(s.id, _naive(s.received_at), earlier[:5], 1, "test")
        expected[s.id] = submission_alerts(
            db, job, snapshot, suppress_below=settings.suppress_below,
            min_total=settings.min_total,
        )  # fmt: skip
    return expected


def _key(alert: AlertRecord) -> tuple[Any, ...]:
    return (alert.submission_id, alert.audience, alert.kind, alert.region_id, alert.category,
            alert.period, alert.value, alert.threshold)  # fmt: skip


@contextlib.contextmanager
def _replica(
    run_server: Callable[..., AbstractContextManager[Server]],
    env: dict[str, str],
    home: Path,
    data: Path,
) -> Iterator[Server]:
    home.mkdir(exist_ok=True)
    replica = {**env, "CROSSPLAN_HOME": str(home),
               "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}  # fmt: skip
    with run_server(replica, data, home / "server.log") as server:
        yield server


def _send(server: Server, token: str, body: dict[str, Any]) -> httpx.Response:
    return server.http.post("/submissions", json=body, headers={"Authorization": f"Bearer {token}"})


def _drained(db: Database, seconds: float) -> dict[str, int]:
    """The outbox's counts once nothing is pending any more (or ``seconds`` later)."""
    deadline = time.monotonic() + seconds
    counts = outbox_counts(db)
    while any(k.endswith(".pending") for k in counts) and time.monotonic() < deadline:
        time.sleep(0.25)
        counts = outbox_counts(db)
    return counts


def test_two_replicas_one_killed_again_and_again_lose_no_alert_and_store_none_twice(
    run_server: Callable[..., AbstractContextManager[Server]],
    postgres_server: str,
    tiny_world_dir: Path,
    forecast_file: Path,
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    kill_at = set(rng.sample(range(2, SUBMISSIONS), KILLS))
    with fresh_database(postgres_server) as url, receiving() as receiver:
        db = Database.connect(url)
        import_directory(db, tiny_world_dir, Submitter("service"))
        keys = KeyStore(db)
        tokens = {name: add_key(keys, name, role, country=country, agency=agency)
                  for name, (role, country, agency) in KEYS.items()}  # fmt: skip
        for name in HOOKED:
            role, country, agency = KEYS[name]
            add_webhook(db, Principal(name, role, country, agency), f"{receiver.url}/{name}",
                        allow=LOCAL)  # fmt: skip
        env = {
            "CROSSPLAN_DATABASE_URL": url, "CROSSPLAN_FORECAST_FILE": str(forecast_file),
            "CROSSPLAN_WEBHOOK_ALLOW": "127.0.0.1", "CROSSPLAN_OUTBOX_POLL": "1",
            "CROSSPLAN_OUTBOX_LEASE": str(LEASE), "CROSSPLAN_MODEL_WATCH": "0",
        }  # fmt: skip
        replica_a = _Restartable(lambda: _replica(run_server, env, tmp_path / "a", tiny_world_dir))
        replica_a.start()
        with _replica(run_server, env, tmp_path / "b", tiny_world_dir) as b:
            try:
                for n in range(SUBMISSIONS):
                    reporter, body = _rows(rng, n)
                    if n in kill_at:
                        _kill_during(replica_a, b, rng, tokens[reporter], body)
                        continue
                    # Mostly to A; to B while A starts again.
                    r = _send((replica_a.up() if n % 3 else None) or b, tokens[reporter], body)
                    assert r.status_code == 200, r.text
                replica_a.wait()  # A started again after its last death
                counts = _drained(db, 60)
            finally:
                replica_a.close()
        settings = Settings(tmp_path, tiny_world_dir, url, forecast_file, None)
        expected = _expected(db, settings)
        stored = [a for reader in _readers().values() for a in list_alerts(db, reader, 10_000)]
        db.dispose()

    # Every job done, every post delivered: nothing pending, failed or given up.
    assert set(counts) == {"alert_jobs.done", "webhook_deliveries.delivered"}, counts
    assert counts["alert_jobs.done"] == len(expected)
    # Every alert expected is stored, once per reader.
    assert Counter(map(_key, stored)) == Counter(
        _key(a) for alerts in expected.values() for a in alerts
    )
    assert all(expected.values())  # each submission raised some
    _check_posts(receiver, stored)


def _kill_during(
    replica_a: _Restartable, b: Server, rng: random.Random, token: str, body: dict[str, Any]
) -> None:
    """Send ``body`` to A and kill A at a random moment of it (before, during or after its
    commit, its alerts or its posts); the reporter then sends it again, to B, and A starts
    again."""
    a = replica_a.wait()
    sending = threading.Thread(target=_try_send, args=(a, token, body))
    sending.start()
    time.sleep(rng.uniform(0.0, 0.6))
    replica_a.crash()
    sending.join()
    r = _send(b, token, body)  # a repeat if A had committed it
    assert r.status_code == 200, r.text
    replica_a.start()


def _try_send(server: Server, token: str, body: dict[str, Any]) -> None:
    with contextlib.suppress(httpx.TransportError):  # the replica dies under it
        _send(server, token, body)


class _Restartable:
    """A replica started in the background, so that the other one serves meanwhile."""

    def __init__(self, run: Callable[[], AbstractContextManager[Server]]) -> None:
        self._run = run
        self._stack = contextlib.ExitStack()
        self._ready = threading.Event()
        self._server: Server | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        self._ready.clear()
        threading.Thread(target=self._start, daemon=True).start()

    def _start(self) -> None:
        try:
            self._server = self._stack.enter_context(self._run())
        except BaseException as err:  # pytest.fail: the server did not start
            self._error = err
        finally:
            self._ready.set()

    def up(self) -> Server | None:
        """The replica when it is up now."""
        return self._server if self._ready.is_set() else None

    def wait(self) -> Server:
        """The replica, once it is up."""
        assert self._ready.wait(180), "the replica did not start"
        if self._error is not None:
            raise self._error
        return self._server

    def crash(self) -> None:
        """Kill the whole process tree of the replica (SIGKILL)."""
        self.wait().crash()
        self._server = None
        self._stack.close()

    def close(self) -> None:
        self._ready.wait(180)
        self._stack.close()


def _check_posts(receiver: Receiver, stored: list[AlertRecord]) -> None:
    """Each stored alert reached each webhook of its reader under one delivery id; a repeat
    of a delivery id is the same post, and there is at most one per kill."""
    received = receiver.deliveries()
    assert sum(n - 1 for n in received.values()) <= KILLS, received
    kept: dict[str, Post] = {}  # what a receiver that honours the key keeps
    for post in receiver.posts:
        first = kept.setdefault(post.delivery, post)
        assert (first.path, first.body) == (post.path, post.body)
    reached = Counter((HOOKED[p.path.strip("/")], p.json()["alert"]["id"]) for p in kept.values())
    assert reached == Counter((a.audience, a.id) for a in stored)
