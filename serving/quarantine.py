"""Quarantine: no submission the served model cannot forecast ever serves, or stops anyone.

The service forecasts every new panel before it serves it (:func:`serving.snapshot.refreshed`).
When the model cannot (it fails, or gives activity that is not a finite number), the last
good snapshot keeps serving everyone, and :func:`quarantine` sets the submission that broke it
aside: it finds it (the first one since the last good panel whose panel does not forecast),
reverts it with a reason that says so (:data:`pipelines.database.QUARANTINED`; the revert is
audited like any other), records a ``quarantine`` event, and raises a
``submission_quarantined`` alert for the operator's administrators and for the submitting
agency, its posts owed to their webhooks: all in one transaction
(:func:`pipelines.database.set_aside`), so a replica that dies halfway leaves nothing of it,
and the next one sets the submission aside, alerts included. The reporter's answer says so (:func:`pipelines.database.quarantine_reason`). A
correction, or any later submission, is then forecast like every other one: the service
recovers by itself, with no reload.

Replicas sharing the database may find the same submission at once: one reverts it, the
others see it quarantined and move on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from crossplan.pipelines.database import (
    QUARANTINED,
    AlertRecord,
    Database,
    Submitter,
    iso,
    list_submissions,
    quarantine_reason,
    set_aside,
    utcnow,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.alert_jobs import webhook_targets
from crossplan.serving.sharing import OPERATOR, Audience
from crossplan.serving.snapshot import Snapshot, UnforecastablePanelError, refreshed
from crossplan.serving.webhook_posts import alert_body
from crossplan.serving.webhook_registry import webhooks

__all__ = ["ALERT_KIND", "Quarantine", "quarantine"]

log = logging.getLogger(__name__)

ALERT_KIND = "submission_quarantined"
#: Who sets submissions aside, in the audit trail and the revert.
_SERVICE = Submitter("service")
_REASON_LENGTH = 150  # the revert's file name keeps 200 characters; the audit keeps all
_SEARCHED = 200  # submissions since the last good panel looked at, newest ones


@dataclass(frozen=True)
class Quarantine:
    """A submission set aside, the revert that did it, and the alerts it raised."""

    submission_id: int
    revert_id: int | None
    reason: str
    alerts: list[AlertRecord]


def quarantine(db: Database, good: Snapshot, failed: UnforecastablePanelError) -> Quarantine | None:
    """Set aside the submission that makes the panel unforecastable by ``good``'s model.

    Returns
    -------
    Quarantine or None
        What was set aside (``revert_id`` is ``None`` when another replica did it first);
        ``None`` when no submission can be set aside (none since the last good panel, or its
        cells were changed since by later submissions): the caller keeps serving ``good``.
    """
    culprit = _culprit(db, good, failed)
    if culprit is None:
        return None
    sid, agency, country = culprit
    model = good.require_model()
    reason = (
        f"model version {model.card.get('version')} cannot forecast the panel with it: {failed}"
    )
    already = quarantine_reason(db, sid)
    if already is not None:  # another replica set it aside first
        return Quarantine(sid, None, already, [])
    targets = webhook_targets(webhooks(db))
    try:
        revert, alerts = set_aside(
            db,
            sid,
            reason=f"{QUARANTINED}: {reason[:_REASON_LENGTH]}",
            by=_SERVICE,
            detail={"agency": agency, "country": country, "reason": reason},
            alerts=lambda r: _alerts(failed, sid, r.submission_id, reason, agency, country),
            targets=targets,
            body=alert_body,
        )
    except ConfigurationError as err:
        already = quarantine_reason(db, sid)
        if already is not None:
            return Quarantine(sid, None, already, [])
        log.error("cannot set submission %s aside: %s", sid, err)
        return None
    log.error("submission %s set aside (revert %s): %s", sid, revert.submission_id, reason)
    return Quarantine(sid, revert.submission_id, reason, alerts)


def _culprit(
    db: Database, good: Snapshot, failed: UnforecastablePanelError
) -> tuple[int, str | None, str | None] | None:
    """The first incidents submission since ``good``'s panel whose panel ``good``'s model
    cannot forecast (its id, agency and country); the newest one when each alone can."""
    since = [
        s
        for s in list_submissions(db, limit=_SEARCHED)
        if good.panel.last_submission < s.id <= failed.panel.last_submission
        and s.kind == "incidents"
    ]
    since.sort(key=lambda s: s.id)
    if not since:
        return None
    if len(since) > 1:
        for s in since[:-1]:
            try:
                refreshed(good, db, as_of=_naive(s.received_at))
            except UnforecastablePanelError:
                return s.id, s.agency, s.country
            except Exception:  # a panel that does not build: not this one's fault
                log.exception("could not build the panel as of submission %s", s.id)
    newest = since[-1]
    return newest.id, newest.agency, newest.country


def _alerts(
    failed: UnforecastablePanelError,
    sid: int,
    revert_id: int,
    reason: str,
    agency: str | None,
    country: str | None,
) -> list[AlertRecord]:
    """A ``submission_quarantined`` alert for the operator and for the submitting agency,
    located at the submission's first cell."""
    prov = failed.panel.provenance
    cells = prov[prov["submission_id"] == sid]
    first = cells.iloc[0] if len(cells) else None
    regions = failed.panel.dataset.regions
    region = "" if first is None else str(first["region_id"])
    where = regions.loc[regions["region_id"] == region, "country"]
    readers = [OPERATOR]
    if country is not None:
        readers.append(Audience(country, agency))
    return [
        AlertRecord(
            id=None,
            created_at=str(iso(utcnow())),
            submission_id=sid,
            kind=ALERT_KIND,
            region_id=region,
            country=country or (str(where.iloc[0]) if len(where) else ""),
            category="" if first is None else str(first["category"]),
            period=pd.Timestamp(
                failed.panel.dataset.periods[-1] if first is None else first["period"]
            ).strftime("%Y-%m-%d"),
            value=float(len(cells)),
            threshold=0.0,
            exceeded={"reason": reason, "revert_submission_id": revert_id},
            audience=reader.label,
        )
        for reader in readers
    ]


def _naive(moment: str) -> datetime:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    return stamp.to_pydatetime()
