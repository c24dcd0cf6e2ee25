"""Set a submission aside: one act, one transaction.

The service sets aside a submission its model cannot forecast (:mod:`serving.quarantine`):
it reverts it (:func:`~pipelines.database.revert.revert_in`, with the revert's audit event),
records a ``quarantine`` event, stores the alerts that tell the operator and the submitting
agency, and owes their posts to the webhooks of those audiences. All of it commits together
or not at all: a replica that dies halfway leaves the submission as it was, and the next
replica to find it sets it aside, alerts included. (Written apart, a revert committed
without its alerts would be seen as set aside by every replica, and its alerts never raised.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from crossplan.pipelines.database.alerts import AlertRecord, append_alerts
from crossplan.pipelines.database.audit import append_event
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.outbox import append_deliveries
from crossplan.pipelines.database.panel import utcnow
from crossplan.pipelines.database.revert import RevertResult, revert_in
from crossplan.pipelines.database.versions import Submitter

__all__ = ["set_aside"]


def set_aside(
    db: Database,
    submission_id: int,
    *,
    reason: str,
    by: Submitter,
    detail: Mapping[str, Any],
    alerts: Callable[[RevertResult], Sequence[AlertRecord]],
    targets: Mapping[str, Sequence[int]],
    body: Callable[[AlertRecord], str],
    now: Callable[[], datetime] = utcnow,
) -> tuple[RevertResult, list[AlertRecord]]:
    """Revert ``submission_id``, record the ``quarantine`` event, store its alerts and owe
    their posts, in one transaction; the revert and the stored alerts (with their ids).

    Parameters
    ----------
    reason
        The revert's reason (its file name keeps the start of it).
    by
        Who sets it aside (the service).
    detail
        What the ``quarantine`` event says besides the two submissions' ids.
    alerts
        The alerts to store, given the revert (they name it).
    targets, body
        Webhook ids by audience label, and what is posted of a stored alert
        (:func:`~pipelines.database.outbox.append_deliveries`).

    Raises
    ------
    ConfigurationError
        The revert is refused (:func:`~pipelines.database.revert.revert_in`); nothing is
        written.
    """
    with db.write("submissions") as con:
        revert = revert_in(con, submission_id, reason=reason, by=by, now=now)
        append_event(
            con,
            by.key_name,
            "quarantine",
            submission_id=submission_id,
            revert_submission_id=revert.submission_id,
            **detail,
        )
        stored = append_alerts(con, alerts(revert))
        append_deliveries(con, stored, targets, body, now())
    return revert, stored
