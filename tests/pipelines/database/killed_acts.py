"""Acts of the shared database run in a child process that is killed between two of their
writes (for ``test_killed_acts.py``): the child runs the act and ends itself with
``os._exit`` when the act is about to run a statement that starts with ``stop_at`` — no
commit, no rollback, no clean-up, as a power cut or a ``kill -9`` would leave it."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import sqlalchemy as sa

from crossplan.pipelines.database import (
    Actor,
    AlertRecord,
    Database,
    Need,
    Posts,
    Proposal,
    RevertResult,
    Submitter,
    load_panel,
    next_period,
    propose,
    revert_submission,
    set_aside,
    submit_incidents,
    utcnow,
)

#: The exit status of a child killed at its statement.
KILLED = 86
GRC = Submitter("grc-bp", "Border Police", "GRC")
OPS = Submitter("cli:ops")


def run_killed(url: str, stop_at: str, act: str, *args: Any) -> None:
    """Run ``act`` (a function of this module) on the database at ``url``; die at the first
    statement that starts with ``stop_at``."""
    db = Database.connect(url)

    @sa.event.listens_for(db.engine, "before_cursor_execute")
    def _kill(_con: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(stop_at.upper()):
            os._exit(KILLED)

    globals()[act](db, *args)


def submit(db: Database, rows: pd.DataFrame) -> None:
    submit_incidents(db, rows, file="killed.csv", row_of=lambda i: i + 2, submitter=GRC)


def revert(db: Database, submission_id: int) -> None:
    revert_submission(db, submission_id, reason="wrong week", by=OPS)


def proposal(db: Database, hook_id: int) -> None:
    """The operator proposes a joint operation; its alerts' posts are owed to ``hook_id``."""
    dataset = load_panel(db).dataset
    week = next_period(dataset.frequency, utcnow())
    needs = {"GRC": Need(4), "MKD": Need(4)}
    drafted = Proposal(regions=("r001", "r004"), periods=(week,), needs=needs)
    propose(db, dataset, Actor("cli:ops"), drafted, posts=Posts({"*": [hook_id]}, lambda a: "{}"))


def quarantine(db: Database, submission_id: int) -> None:
    set_aside(
        db,
        submission_id,
        reason="quarantined: the model cannot forecast it",
        by=Submitter("service"),
        detail={"agency": GRC.agency, "country": GRC.country, "reason": "cannot forecast"},
        alerts=lambda revert: [_alert(submission_id, revert)],
        targets={},
        body=lambda alert: "{}",
    )


def _alert(submission_id: int, revert: RevertResult) -> AlertRecord:
    return AlertRecord(
        id=None,
        created_at="2026-03-02T09:30:00+00:00",
        submission_id=submission_id,
        kind="submission_quarantined",
        region_id="r002",
        country="GRC",
        category="all",
        period="2024-01-01",
        value=1.0,
        threshold=0.0,
        exceeded={"revert_submission_id": revert.submission_id},
        audience="*",
    )


if __name__ == "__main__":  # run by ``runpy.run_path`` in the child, given what to run
    run_killed(*globals()["KILL"])
