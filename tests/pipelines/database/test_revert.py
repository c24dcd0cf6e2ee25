"""Reverting a submission, and a panel that does not build naming what to revert.

Every case runs on SQLite and on PostgreSQL (``database_url``), on the tiny world imported
by the operator (``shared_db``).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from crossplan.pipelines.database import (
    Database,
    SubmissionResult,
    Submitter,
    audit_trail,
    last_good_panel,
    latest_submission,
    list_submissions,
    load_panel,
    revert_submission,
    submit_incidents,
)
from crossplan.pipelines.database.versions import (
    _records,
    insert_submission,
    insert_versions,
    receipt_time,
)
from crossplan.pipelines.errors import ConfigurationError, PanelBuildError

GRC = Submitter("grc-bp", "Border Police", "GRC")
OPS = Submitter("cli:ops")


def _submit(db: Database, rows: pd.DataFrame) -> SubmissionResult:
    return submit_incidents(db, rows, file="w.csv", row_of=lambda i: i + 2, submitter=GRC)


def _correction_and_new_cell(db: Database) -> pd.DataFrame:
    """One GRC cell corrected, and one GRC cell of a week the panel does not have yet."""
    inc = load_panel(db).dataset.incidents
    last = inc[(inc["period"] == inc["period"].max()) & (inc["region_id"] == "r002")].head(1)
    corrected = last.assign(detected=last["detected"] + 5)
    new = last.assign(period=last["period"] + timedelta(weeks=1))
    rows = pd.concat([corrected, new], ignore_index=True)
    return rows.assign(period=rows["period"].dt.strftime("%Y-%m-%d"))


def test_a_revert_gives_back_the_panel_before_the_submission(shared_db: Database) -> None:
    before = load_panel(shared_db)
    sent = _submit(shared_db, _correction_and_new_cell(shared_db))
    assert (sent.new, sent.corrected) == (1, 1)
    reverted = revert_submission(shared_db, sent.submission_id, reason="wrong week", by=OPS)
    # the correction is undone and the new cell withdrawn
    assert (reverted.restored, reverted.withdrawn) == (1, 1)
    after = load_panel(shared_db)
    pd.testing.assert_frame_equal(after.dataset.incidents, before.dataset.incidents)
    assert after.last_submission == reverted.submission_id  # a new submission, nothing erased
    # a revert can be reverted: the submission's cells come back
    during = load_panel(shared_db, pd.Timestamp(reverted.received_at).tz_localize(None).to_pydatetime() - timedelta(microseconds=1))  # fmt: skip
    revert_submission(shared_db, reverted.submission_id, reason="it was right", by=OPS)
    pd.testing.assert_frame_equal(load_panel(shared_db).dataset.incidents, during.dataset.incidents)
    assert len(during.dataset.incidents) == len(before.dataset.incidents) + 1


def test_a_withdrawn_cell_can_be_sent_again_as_new(shared_db: Database) -> None:
    rows = _correction_and_new_cell(shared_db).tail(1)
    first = _submit(shared_db, rows)
    revert_submission(shared_db, first.submission_id, reason="too early", by=OPS)
    again = _submit(shared_db, rows)
    assert (again.duplicate, again.new) == (False, 1)


def test_reverts_are_in_the_audit_trail_and_the_submissions_list(shared_db: Database) -> None:
    sent = _submit(shared_db, _correction_and_new_cell(shared_db))
    admin = Submitter("cli:ops", "Operations", None)
    done = revert_submission(shared_db, sent.submission_id, reason="  a typo\n in r002 ", by=admin)
    (event,) = audit_trail(shared_db, action="revert")
    assert (event.actor, event.agency) == ("cli:ops", "Operations")
    assert event.detail["reverted"] == sent.submission_id
    assert event.detail["submission_id"] == done.submission_id
    assert (event.detail["restored"], event.detail["withdrawn"]) == (1, 1)
    assert event.detail["reason"] == "a typo in r002"
    latest = list_submissions(shared_db, limit=2)
    assert [(s.id, s.kind) for s in latest] == [
        (done.submission_id, "revert"),
        (sent.submission_id, "incidents"),
    ]
    assert latest[0].file == f"revert of {sent.submission_id}: a typo in r002"


def test_a_revert_of_cells_changed_since_is_refused_naming_the_later_submission(
    shared_db: Database,
) -> None:
    rows = _correction_and_new_cell(shared_db)
    first = _submit(shared_db, rows)
    later = _submit(shared_db, rows.head(1).assign(detected=rows["detected"].head(1) + 1))
    n = latest_submission(shared_db)
    with pytest.raises(ConfigurationError, match=rf"from submission\(s\) {later.submission_id} "):
        revert_submission(shared_db, first.submission_id, reason="x", by=OPS)
    assert latest_submission(shared_db) == n  # nothing written
    # reverting the later one first, as the message says, makes the first revertible
    revert_submission(shared_db, later.submission_id, reason="x", by=OPS)
    assert revert_submission(shared_db, first.submission_id, reason="x", by=OPS).restored == 1


@pytest.mark.parametrize(
    ("target", "reason", "message"),
    [
        (999, "x", "no submission 999"),  # no such submission
        (1, "x", "is a regions document"),  # the import's regions file
        ("sent", "   ", "needs a reason"),  # a reason of blanks
    ],
)
def test_a_revert_that_cannot_be_done_says_why(
    shared_db: Database, target: int | str, reason: str, message: str
) -> None:
    sent = _submit(shared_db, _correction_and_new_cell(shared_db))
    number = sent.submission_id if target == "sent" else int(target)
    with pytest.raises(ConfigurationError, match=message):
        revert_submission(shared_db, number, reason=reason, by=OPS)


def test_a_panel_that_does_not_build_names_the_submission_to_revert(shared_db: Database) -> None:
    good = load_panel(shared_db)
    # Cells written past the checks (as an older version could): a region no file knows.
    bad = load_panel(shared_db).dataset.incidents.tail(1).assign(region_id="r999")
    with shared_db.write() as con:
        received = receipt_time(con, lambda: good.as_of + timedelta(minutes=5))
        sid = insert_submission(
            con, fingerprint="f" * 64, kind="incidents", received_at=received, submitter=GRC,
            file="old.csv", rows=1, counts=(1, 0, 0),
        )  # fmt: skip
        insert_versions(con, _records(bad), sid)
    with pytest.raises(PanelBuildError) as info:
        load_panel(shared_db)
    err = info.value
    assert err.submission_id == sid
    assert f"crossplan submissions revert {sid}" in str(err) and "old.csv" in str(err)
    assert any("r999" in p.message for p in err.problems)
    # the panel just before it still builds: what a service keeps serving
    assert load_panel(shared_db, err.before).fingerprint == good.fingerprint
    kept, broken = last_good_panel(shared_db)
    assert kept.fingerprint == good.fingerprint and broken is not None
    assert broken.submission_id == sid
    revert_submission(shared_db, sid, reason="unknown region", by=OPS)
    pd.testing.assert_frame_equal(load_panel(shared_db).dataset.incidents, good.dataset.incidents)
    assert last_good_panel(shared_db)[1] is None
