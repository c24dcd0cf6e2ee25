"""How long the outbox keeps what it no longer owes.

The outbox (:mod:`pipelines.database.outbox`) writes a row per submission's alert job and per
post owed to a webhook, the post's whole body included. Once a job is done and a post has
ended (delivered, or given up: failed, refused, stopped), nothing reads its row again: the
alerts themselves stay in ``alerts``, and each ended post has its ``webhook_delivery`` event in
the audit trail. :func:`prune_outbox` deletes those rows once
they ended before a moment; every replica's outbox worker calls it now and then
(:mod:`serving.outbox`, ``CROSSPLAN_OUTBOX_KEEP_DAYS``). Jobs that failed are kept: they are
alerts never raised, which an operator has to see.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.outbox import DONE, PENDING
from crossplan.pipelines.database.schema import AlertJobRow, WebhookDelivery

__all__ = ["prune_outbox"]


def prune_outbox(db: Database, *, before: datetime) -> dict[str, int]:
    """Delete the alert jobs done, and the webhook posts ended, before ``before`` (naive UTC);
    how many rows of each table went (``{"alert_jobs": n, "webhook_deliveries": m}``).

    Pending rows are never deleted, however old: they are still owed.
    """
    with db.write() as con:
        jobs = con.execute(
            sa.delete(AlertJobRow).where(AlertJobRow.state == DONE, AlertJobRow.done_at < before)
        )
        posts = con.execute(
            sa.delete(WebhookDelivery).where(
                WebhookDelivery.state != PENDING, WebhookDelivery.delivered_at < before
            )
        )
    return {"alert_jobs": int(jobs.rowcount), "webhook_deliveries": int(posts.rowcount)}
