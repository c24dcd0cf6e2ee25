"""The writes of one act commit together or not at all, even when the process dies between
them: a submission and the alerts it owes, a revert and its audit event, a submission set
aside with its revert, its event and its alerts.

Each act runs in a child process that is killed (``os._exit``: no commit, no rollback) just
before the act's last write (:mod:`killed_acts`); the database, read afterwards by
this process, holds none of the act's writes. Every case runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import runpy
from datetime import timedelta

import pandas as pd

from crossplan.pipelines.database import (
    Database,
    audit_trail,
    latest_submission,
    list_alerts,
    list_operations,
    list_submissions,
    load_panel,
    outbox_counts,
    quarantine_reason,
    store_webhook,
    submit_incidents,
)
from crossplan.pipelines.database.alerts import OPERATOR_LABEL
from crossplan.serving.auth import KeyStore, Principal, Role, add_key
from tests.pipelines.database import killed_acts
from tests.pipelines.database.killed_acts import GRC, KILLED, quarantine


class _Operator:
    label = OPERATOR_LABEL
    operator = True


def _kill_during(url: str, stop_at: str, act: str, *args: object) -> None:
    """Run ``act`` in a child process killed at its first statement starting ``stop_at``."""
    # The child runs the file (a package named ``tests`` elsewhere may shadow this one).
    child = multiprocessing.get_context("spawn").Process(
        target=runpy.run_path,
        args=(killed_acts.__file__,),
        kwargs={"init_globals": {"KILL": (url, stop_at, act, *args)}, "run_name": "__main__"},
    )
    child.start()
    child.join(120)
    assert child.exitcode == KILLED, "the act did not reach the statement it is killed at"


def _new_cell(db: Database) -> pd.DataFrame:
    """A GRC cell of a week the panel does not have yet."""
    inc = load_panel(db).dataset.incidents
    last = inc[(inc["period"] == inc["period"].max()) & (inc["region_id"] == "r002")].head(1)
    row = last.assign(period=last["period"] + timedelta(weeks=1))
    return row.assign(period=row["period"].dt.strftime("%Y-%m-%d"))


def _trail(db: Database) -> list[tuple[str, int]]:
    return [(e.action, e.id) for e in audit_trail(db, 1000)]


def test_a_submission_killed_before_its_alerts_are_owed_leaves_neither(
    shared_db: Database, database_url: str
) -> None:
    before, trail = load_panel(shared_db), _trail(shared_db)
    jobs = outbox_counts(shared_db).get("alert_jobs.pending", 0)
    # killed after its cells and audit event are written, before its alert job is
    _kill_during(database_url, "INSERT INTO alert_jobs", "submit", _new_cell(shared_db))
    assert latest_submission(shared_db) == before.last_submission
    assert [s.file for s in list_submissions(shared_db) if s.file == "killed.csv"] == []
    assert outbox_counts(shared_db).get("alert_jobs.pending", 0) == jobs
    assert _trail(shared_db) == trail
    pd.testing.assert_frame_equal(load_panel(shared_db).dataset.incidents, before.dataset.incidents)


def test_a_revert_killed_before_its_audit_event_leaves_neither(
    shared_db: Database, database_url: str
) -> None:
    sent = submit_incidents(
        shared_db, _new_cell(shared_db), file="w.csv", row_of=lambda i: i + 2, submitter=GRC
    )
    before, trail = load_panel(shared_db), _trail(shared_db)
    # killed after the revert's submission and versions are written, before its event is
    _kill_during(database_url, "INSERT INTO audit", "revert", sent.submission_id)
    assert latest_submission(shared_db) == sent.submission_id
    assert _trail(shared_db) == trail
    pd.testing.assert_frame_equal(load_panel(shared_db).dataset.incidents, before.dataset.incidents)


def test_a_submission_set_aside_killed_before_its_alerts_leaves_nothing_of_it(
    shared_db: Database, database_url: str
) -> None:
    sent = submit_incidents(
        shared_db, _new_cell(shared_db), file="w.csv", row_of=lambda i: i + 2, submitter=GRC
    )
    trail = _trail(shared_db)
    # killed after the revert and the quarantine event are written, before its alerts are
    _kill_during(database_url, "INSERT INTO alerts", "quarantine", sent.submission_id)
    assert latest_submission(shared_db) == sent.submission_id
    assert quarantine_reason(shared_db, sent.submission_id) is None  # so it is set aside again
    assert _trail(shared_db) == trail
    assert list_alerts(shared_db, _Operator()) == []
    # set aside again, to the end: the revert, both events and the alert, together
    quarantine(shared_db, sent.submission_id)
    assert quarantine_reason(shared_db, sent.submission_id) is not None
    assert [a for a, _ in _trail(shared_db)[:2]] == ["quarantine", "revert"]
    assert [a.kind for a in list_alerts(shared_db, _Operator())] == ["submission_quarantined"]


def test_a_joint_operation_step_killed_before_its_posts_are_owed_leaves_nothing(
    shared_db: Database, database_url: str
) -> None:
    add_key(KeyStore(shared_db), "ops", Role.ADMIN)
    hook = store_webhook(shared_db, Principal("ops", Role.ADMIN), "http://127.0.0.1:9/hook",
                         shown="http://127.0.0.1:9/hook", secret=None, limit=5)  # fmt: skip
    trail = _trail(shared_db)
    # killed after the operation, its event, audit line and alerts are written, before the
    # posts of its alerts are owed
    _kill_during(database_url, "INSERT INTO webhook_deliveries", "proposal", hook.id)
    assert list_operations(shared_db, None) == []
    assert _trail(shared_db) == trail
    assert list_alerts(shared_db, _Operator()) == []
    assert outbox_counts(shared_db).get("webhook_deliveries.pending", 0) == 0
    # to the end: the operation, its alert and the post owed to the webhook, together
    killed_acts.proposal(shared_db, hook.id)
    assert len(list_operations(shared_db, None)) == 1
    assert [a.kind for a in list_alerts(shared_db, _Operator())] == ["operation_proposed"]
    assert outbox_counts(shared_db).get("webhook_deliveries.pending", 0) == 1
