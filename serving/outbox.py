"""The outbox's worker in each replica: it raises the alerts submissions owe and posts what is
owed to webhooks, from the shared database (:mod:`pipelines.database.outbox`), so that a
replica's death loses nothing: whatever it held, another replica takes over when the lease
runs out (``CROSSPLAN_OUTBOX_LEASE``).

* The replica that took a submission raises its alerts at once
  (:meth:`OutboxWorker.raise_now`), so its reporter's answer counts them.
* A thread of *alerts* claims, every ``CROSSPLAN_OUTBOX_POLL`` seconds, a job no one raised:
  never claimed for a lease's length, or whose lease ran out (its replica died), or due
  again after a failed try; it raises it (:func:`serving.alert_jobs.raise_job`).
* A thread of *deliveries* claims the due posts, one per webhook at a time, and hands them
  to :data:`POSTERS` posting threads, so a receiver that never answers holds up only its own
  posts. Each try (:func:`serving.webhook_posts.post`) ends the delivery (delivered, or given up,
  audited) or makes it due again after :func:`serving.webhook_posts.retry_delay`. Once an
  hour it also deletes the jobs done and the posts ended more than
  ``CROSSPLAN_OUTBOX_KEEP_DAYS`` ago (:func:`pipelines.database.prune_outbox`).

The threads are daemons, and hold the service weakly: when it goes, they stop.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Protocol

from crossplan.pipelines.database import (
    AlertJob,
    AlertRecord,
    Database,
    DatabaseUnavailableError,
    Delivery,
    Posts,
    WebhookRecord,
    claim_alert_job,
    claim_deliveries,
    finish_delivery,
    owe_deliveries,
    prune_outbox,
    read_webhooks,
    release_alert_job,
    retry_delivery,
    utcnow,
)
from crossplan.serving.alert_jobs import raise_job, webhook_targets
from crossplan.serving.settings import (
    MIN_TOTAL,
    OUTBOX_KEEP_DAYS,
    OUTBOX_LEASE,
    OUTBOX_POLL,
    SUPPRESS_BELOW,
    Settings,
)
from crossplan.serving.snapshot import Snapshot
from crossplan.serving.webhook_posts import (
    ATTEMPTS,
    FIRST_RETRY_SECONDS,
    TIMEOUT_SECONDS,
    Outcome,
    alert_body,
    post,
    retry_delay,
)
from crossplan.serving.webhook_registry import WebhookTarget, webhooks
from crossplan.serving.webhook_urls import Resolver, resolve_host

__all__ = ["POSTERS", "OutboxWorker"]

POSTERS = 4
"""Posts a replica makes at once (to as many webhooks)."""
PRUNE_EVERY = 3600.0
"""Seconds between a replica's deletions of what the outbox no longer owes."""

log = logging.getLogger(__name__)


class _Service(Protocol):
    """What the worker needs of the service (:class:`serving.service.CrossplanService`)."""

    db: Database
    settings: Settings

    def current(self) -> Snapshot: ...


class OutboxWorker:
    """Raises owed alerts and posts owed deliveries (see the module's description).

    Parameters
    ----------
    current
        The snapshot that serves now (its model forecasts), or ``None`` once the service
        went: the threads then stop.
    allow, resolve, timeout
        What :func:`serving.webhook_posts.post` takes.
    suppress_below, min_total
        The sharing thresholds of every reader's view.
    poll, lease
        Seconds between looks, and seconds a claim holds.
    keep_days
        Days a done job or an ended post is kept (0: forever).
    attempts, first_retry
        Tries per delivery, and seconds before the first retry.
    """

    def __init__(
        self,
        db: Database,
        current: Callable[[], Snapshot | None],
        *,
        allow: Iterable[str] = (),
        suppress_below: int = SUPPRESS_BELOW,
        min_total: int = MIN_TOTAL,
        poll: float = OUTBOX_POLL,
        lease: float = OUTBOX_LEASE,
        resolve: Resolver = resolve_host,
        timeout: float = TIMEOUT_SECONDS,
        attempts: int = ATTEMPTS,
        first_retry: float = FIRST_RETRY_SECONDS,
        posters: int = POSTERS,
        keep_days: int = OUTBOX_KEEP_DAYS,
    ) -> None:
        self.db = db
        self._current = current
        self._allow = tuple(allow)
        self._suppress_below, self._min_total = suppress_below, min_total
        self._poll, self._lease = poll, lease
        self._resolve, self._timeout = resolve, timeout
        self._attempts, self._first_retry = attempts, first_retry
        self._posters = posters
        self._keep_days, self._next_prune = keep_days, 0.0
        # Whose claims these are, in the tables: host, process, and this worker.
        self.name = f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._claims = itertools.count(1)
        self._stop = threading.Event()
        self._jobs_due = threading.Event()
        self._posts_due = threading.Event()
        self._lock = threading.Lock()
        self._busy: set[int] = set()  # webhooks with a post in flight here
        self._work: queue.SimpleQueue[tuple[Delivery, WebhookRecord | None] | None]
        self._work = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    @classmethod
    def of(cls, service: _Service) -> OutboxWorker:
        """The worker of a service instance, which it holds weakly (not started yet)."""
        ref = weakref.ref(service)

        def current() -> Snapshot | None:
            found = ref()
            return None if found is None else found.current()

        s = service.settings
        return cls(service.db, current, allow=s.webhook_allow, suppress_below=s.suppress_below,
                   min_total=s.min_total, poll=s.outbox_poll, lease=s.outbox_lease,
                   keep_days=s.outbox_keep_days)  # fmt: skip

    def start(self) -> None:
        """Start the threads."""
        targets = [(self._raise_owed, "alerts"), (self._claim_posts, "deliveries")]
        targets += [(self._post_claimed, f"post-{n}") for n in range(self._posters)]
        for target, name in targets:
            thread = threading.Thread(target=target, name=f"outbox-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def raise_now(
        self, submission_id: int, snapshot: Snapshot, known: Sequence[Snapshot] = ()
    ) -> list[AlertRecord] | None:
        """Raise the alerts ``submission_id`` owes, now, with ``snapshot``'s model (``known``:
        see :func:`serving.alert_jobs.raise_job`); ``None`` when another replica holds them
        or the try failed (a later one raises them)."""
        job = claim_alert_job(
            self.db, by=self._claim(), lease=self._lease, submission_id=submission_id
        )
        if job is None:
            return None
        return self._raise(job, snapshot, known)

    def owe(self, alerts: list[AlertRecord], hooks: list[WebhookTarget] | None = None) -> None:
        """Owe the posts of stored alerts to the webhooks of their audiences (``hooks``:
        default, every active one)."""
        if not alerts:
            return
        owe_posts(self.db, alerts, hooks)
        self._posts_due.set()

    def wake(self) -> None:
        """Look for posts due now (some were just owed), not at the next poll."""
        self._posts_due.set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop claiming, and let the posts in flight end for up to ``timeout`` seconds (what
        is left is taken over when its lease runs out)."""
        self._stop.set()
        self._jobs_due.set()
        self._posts_due.set()
        for _ in range(self._posters):
            self._work.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _claim(self) -> str:
        return f"{self.name}/{next(self._claims)}"

    def _raise(
        self, job: AlertJob, snapshot: Snapshot, known: Sequence[Snapshot] = ()
    ) -> list[AlertRecord] | None:
        raised = raise_job(self.db, job, snapshot, known=known, suppress_below=self._suppress_below,
                           min_total=self._min_total)  # fmt: skip
        self._posts_due.set()
        return raised

    def _raise_owed(self) -> None:
        while not self._stop.is_set():
            self._jobs_due.clear()
            with _logged("could not look for alerts owed"):
                while not self._stop.is_set() and self._raise_one():
                    pass
            self._jobs_due.wait(self._poll)

    def _raise_one(self) -> bool:
        """Raise a job that is due; whether there was one."""
        job = claim_alert_job(self.db, by=self._claim(), lease=self._lease)
        if job is None:
            return False
        snapshot = self._current()
        if snapshot is None:  # the service went: another replica, or the next start, raises it
            release_alert_job(self.db, job, error="the service stopped", retry_at=utcnow())
            self._stop.set()
            return False
        log.info("raising the alerts submission %s owes (try %d)", job.submission_id, job.attempts)
        self._raise(job, snapshot)
        return True

    def _claim_posts(self) -> None:
        while not self._stop.is_set():
            self._posts_due.clear()
            with _logged("could not look for webhook posts due"):
                self._claim_some()
            with _logged("could not delete the outbox rows past keeping"):
                self.prune()
            self._posts_due.wait(self._poll)

    def prune(self, *, now: float | None = None) -> dict[str, int]:
        """Delete the jobs done and the posts ended over ``keep_days`` ago, if the last time
        was :data:`PRUNE_EVERY` seconds before ``now`` (monotonic) or more; what went. Every
        replica does: rows deleted twice are deleted once."""
        moment = time.monotonic() if now is None else now
        if not self._keep_days or moment < self._next_prune:
            return {}
        self._next_prune = moment + PRUNE_EVERY
        gone = prune_outbox(self.db, before=utcnow() - timedelta(days=self._keep_days))
        if any(gone.values()):
            log.info("outbox: deleted %d alert jobs done and %d webhook posts ended over %d "
                     "days ago", gone["alert_jobs"], gone["webhook_deliveries"],
                     self._keep_days)  # fmt: skip
        return gone

    def _claim_some(self) -> None:
        with self._lock:
            busy, free = frozenset(self._busy), self._posters - len(self._busy)
        claimed = claim_deliveries(
            self.db, by=self._claim(), lease=self._lease, limit=free, busy=busy
        )
        if not claimed:
            return
        hooks = {hook.id: hook for hook in read_webhooks(self.db)}
        for delivery in claimed:
            with self._lock:
                self._busy.add(delivery.webhook_id)
            self._work.put((delivery, hooks.get(delivery.webhook_id)))

    def _post_claimed(self) -> None:
        while (work := self._work.get()) is not None:
            delivery, hook = work
            try:
                self._deliver(delivery, hook)
            except Exception:  # its lease runs out, and it is tried again
                log.exception("could not record delivery %d", delivery.id)
            finally:
                with self._lock:
                    self._busy.discard(delivery.webhook_id)
                self._posts_due.set()

    def _deliver(self, delivery: Delivery, hook: WebhookRecord | None) -> None:
        started = time.monotonic()
        if delivery.attempts > self._attempts:  # the replicas that held it died, try after try
            result = Outcome("failed", reason=f"given up after {self._attempts} tries")
        elif hook is None:
            result = Outcome("stopped", reason="the webhook was deleted")
        else:
            result = post(self.db, hook, delivery.body.encode(), delivery.id, allow=self._allow,
                          resolve=self._resolve, timeout=self._timeout)  # fmt: skip
        seconds = round(time.monotonic() - started, 3)
        where = f"webhook {delivery.webhook_id} ({hook.url if hook else 'deleted'})"
        said = f": {result.reason}" if result.reason else ""
        tries = min(delivery.attempts, self._attempts)
        if result.again and delivery.attempts < self._attempts:
            delay = retry_delay(delivery.attempts, self._first_retry)
            retry_delivery(self.db, delivery, at=utcnow() + timedelta(seconds=delay),
                           status=result.status, error=result.reason or "")  # fmt: skip
            log.warning("%s: delivery %d failed (try %d), again in %.1f s%s", where,
                        delivery.id, tries, delay, said)  # fmt: skip
            return
        detail = {
            "webhook_id": delivery.webhook_id, "delivery_id": delivery.id,
            "alert_id": delivery.alert_id, "url": hook.url if hook else None,
            "country": hook.country if hook else None, "agency": hook.agency if hook else None,
            "outcome": result.outcome, "status": result.status, "reason": result.reason,
            "tries": tries, "seconds": seconds,
        }  # fmt: skip
        ended = finish_delivery(self.db, delivery, result.outcome, status=result.status,
                                error=result.reason, actor=hook.key_name if hook else "service",
                                detail=detail)  # fmt: skip
        level = logging.INFO if result.outcome == "delivered" else logging.WARNING
        log.log(level, "%s: delivery %d %s, status %s, %d tries, %.3f s%s%s", where, delivery.id,
                result.outcome, result.status, tries, seconds, said,
                "" if ended else " (another replica had taken it over)")  # fmt: skip


def posts_for(db: Database) -> Posts:
    """What an act owes the active webhooks of its alerts' audiences, written in the act's
    own transaction (:class:`~pipelines.database.outbox.Posts`)."""
    return Posts(webhook_targets(webhooks(db)), alert_body)


def owe_posts(
    db: Database, alerts: list[AlertRecord], hooks: list[WebhookTarget] | None = None
) -> None:
    """Owe the posts of stored alerts to the webhooks of their audiences (``hooks``: default,
    every active one), in the shared database: whichever replica's worker is alive posts them
    (a command line's alerts too). A failure is logged, never raised: the alerts are stored."""
    if not alerts:
        return
    try:
        targets = webhook_targets(webhooks(db) if hooks is None else hooks)
        owe_deliveries(db, alerts, targets, alert_body)
    except Exception:
        log.exception("could not owe the posts of %d alerts", len(alerts))


@contextlib.contextmanager
def _logged(failure: str) -> Iterator[None]:
    """Log what failed in a worker's loop, and go on: the loop tries again later. A database
    that is away is a warning; anything else, an error with its traceback."""
    try:
        yield
    except DatabaseUnavailableError as err:
        log.warning("%s: %s", failure, err)
    except Exception:
        log.exception(failure)
