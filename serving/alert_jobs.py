"""Raising the alerts a submission owes: one function for the replica that took the submission
and for every replica's outbox worker.

A submission's commit owes its alerts (:func:`pipelines.database.owe_alerts`). Whoever holds
the job's lease (:mod:`pipelines.database.outbox`) raises them here: the panel as of just
before the submission and the panel as of the submission itself, each forecast by the served
model, are compared for every audience (:func:`serving.alerts.detect_alerts`, on each reader's
:class:`serving.sharing.SharingPolicy`); then every alert, and one delivery of it to each
webhook of its audience, is stored in the transaction that settles the job. A try that fails
stores nothing and leaves the job to a later one; a retry after a crash works from the same
two panels, so it raises what the first try would have (with the model served then).

A submission set aside (:mod:`serving.quarantine`) owes nothing more: its job is settled with
no alert (the quarantine raised its own).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from crossplan.pipelines.database import (
    AlertJob,
    AlertRecord,
    Database,
    NoPanelError,
    quarantine_reason,
    release_alert_job,
    settle_alert_job,
    utcnow,
)
from crossplan.pipelines.errors import PanelBuildError
from crossplan.serving.alerts import audiences, detect_alerts, submitted_cells
from crossplan.serving.sharing import Audience, SharingPolicy
from crossplan.serving.snapshot import Snapshot, UnforecastablePanelError, refreshed
from crossplan.serving.webhook_posts import alert_body
from crossplan.serving.webhook_registry import WebhookTarget, webhooks

__all__ = ["JOB_ATTEMPTS", "raise_job", "submission_alerts", "webhook_targets"]

JOB_ATTEMPTS = 5
"""Tries to raise a submission's alerts (a crash counts as one) before it is given up."""

_FIRST_RETRY_SECONDS = 5.0  # then doubled at each try

log = logging.getLogger(__name__)


def raise_job(
    db: Database,
    job: AlertJob,
    snapshot: Snapshot,
    *,
    suppress_below: int,
    min_total: int,
    known: Sequence[Snapshot] = (),
) -> list[AlertRecord] | None:
    """Raise, store and owe the posts of the alerts of a claimed job, in one transaction that
    settles it. Never raises.

    Parameters
    ----------
    snapshot
        What serves now: its model forecasts the panels.
    suppress_below, min_total
        The sharing thresholds of every reader's view.
    known
        Snapshots at hand (the route's, before and after the submission): one whose panel is
        the one needed is used as it is, forecasts included.

    Returns
    -------
    list of AlertRecord or None
        The alerts stored (none for a submission set aside); ``None`` when nothing was
        stored: the try failed (the job is due again later, or given up after
        :data:`JOB_ATTEMPTS` tries) or another replica took the job over.
    """
    sid = job.submission_id
    if job.attempts > JOB_ATTEMPTS:  # the replicas that held it died, try after try
        log.error("the alerts of submission %s are given up after %d tries", sid, JOB_ATTEMPTS)
        _release(db, job, f"given up after {JOB_ATTEMPTS} tries", None)
        return None
    try:
        if quarantine_reason(db, sid) is not None:
            return settle_alert_job(db, job, [], {}, alert_body)
        found = submission_alerts(
            db, job, snapshot, suppress_below=suppress_below, min_total=min_total, known=known
        )
        stored = settle_alert_job(db, job, found, webhook_targets(webhooks(db)), alert_body)
    except Exception as err:
        log.exception("could not raise the alerts of submission %s (try %d)", sid, job.attempts)
        retry = job.attempts < JOB_ATTEMPTS
        delay = timedelta(seconds=_FIRST_RETRY_SECONDS * 2 ** (job.attempts - 1))
        _release(db, job, f"{type(err).__name__}: {err}", utcnow() + delay if retry else None)
        return None
    if stored is None:
        log.warning("the alerts of submission %s were taken over by another replica", sid)
    return stored


def submission_alerts(
    db: Database,
    job: AlertJob,
    snapshot: Snapshot,
    *,
    suppress_below: int,
    min_total: int,
    known: Sequence[Snapshot] = (),
) -> list[AlertRecord]:
    """The alerts of a job's submission, for every audience (not stored): see
    :func:`raise_job`. One audience's failure is logged and stops no other's.

    Raises
    ------
    UnforecastablePanelError, PanelBuildError
        The panel as of the submission cannot be forecast, or does not build.
    """
    if snapshot.model is None:  # nothing forecasts, nothing is compared
        return []
    sid = job.submission_id
    after = _as_of(db, snapshot, sid, job.received_at, known)
    before = _before(db, snapshot, job, known)
    if before is None:
        return []
    observed = submitted_cells(after, sid)
    found: list[AlertRecord] = []
    for audience in audiences(db):
        try:
            policies = (
                SharingPolicy(before.panel, audience, suppress_below, min_total),
                SharingPolicy(after.panel, audience, suppress_below, min_total),
            )
            found.extend(detect_alerts(before, after, observed, sid, policies))
        except Exception:
            log.exception("could not raise the alerts of submission %s for %s", sid, audience.label)
    return found


def webhook_targets(hooks: Iterable[WebhookTarget]) -> dict[str, list[int]]:
    """The ids of ``hooks`` by the label of the audience each reads as."""
    targets: dict[str, list[int]] = {}
    for hook in hooks:
        targets.setdefault(Audience.of(hook.owner()).label, []).append(hook.id)
    return targets


def _as_of(
    db: Database, snapshot: Snapshot, sid: int, moment: datetime, known: Sequence[Snapshot]
) -> Snapshot:
    """The served model on the panel as of submission ``sid``, received at ``moment``."""
    for candidate in known:
        if candidate.model is not None and candidate.panel.last_submission == sid:
            return candidate
    return refreshed(snapshot, db, moment)


def _before(
    db: Database, snapshot: Snapshot, job: AlertJob, known: Sequence[Snapshot]
) -> Snapshot | None:
    """The panel just before the job's submission: as of the submission before it, or, when
    that one cannot be forecast or built (it was set aside, say), the one before, and so on;
    ``None`` when none of them can."""
    for sid, moment in job.earlier:
        try:
            return _as_of(db, snapshot, sid, moment, known)
        except (UnforecastablePanelError, PanelBuildError, NoPanelError) as err:
            log.info("the panel as of submission %s does not serve to compare (%s)", sid, err)
    log.warning("submission %s has no earlier panel to compare with", job.submission_id)
    return None


def _release(db: Database, job: AlertJob, error: str, retry_at: datetime | None) -> None:
    try:
        release_alert_job(db, job, error=error, retry_at=retry_at)
    except Exception:  # its lease runs out by itself
        log.exception("could not give back the alerts of submission %s", job.submission_id)
