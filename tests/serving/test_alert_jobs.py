"""Raising the alerts a submission owes (:mod:`serving.alert_jobs`): a retry raises what the
first try would have, whatever came in since; a submission set aside owes nothing; a try that
fails stores nothing and leaves the job to a later one.

On a SQLite database holding the tiny world, with GRC's and MKD's border police holding keys
(the GRC-MKD agreement covers r004) and the stand-in forecast served as the model.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crossplan.pipelines.database import (
    QUARANTINED,
    AlertJob,
    AlertRecord,
    Database,
    Submitter,
    claim_alert_job,
    import_directory,
    outbox_counts,
    revert_submission,
    submit_incidents,
    utcnow,
)
from crossplan.serving.alert_jobs import raise_job, submission_alerts
from crossplan.serving.auth import KeyStore, Role, add_key
from crossplan.serving.served_model import ServedModel
from crossplan.serving.settings import Settings
from crossplan.serving.snapshot import Snapshot, load_snapshot, refreshed

GRC = Submitter("grc-reporter", "Border Police", "GRC")
THRESHOLDS = {"suppress_below": 3, "min_total": 3}


@pytest.fixture
def world(tmp_path: Path, tiny_world_dir: Path, forecast_file: Path) -> tuple[Database, Snapshot]:
    url = f"sqlite:///{tmp_path / 'crossplan.db'}"
    db = Database.connect(url)
    import_directory(db, tiny_world_dir, Submitter("service"))
    keys = KeyStore(db)
    for country in ("GRC", "MKD"):
        add_key(keys, f"{country.lower()}-analyst", Role.ANALYST, country=country,
                agency="Border Police")  # fmt: skip
    settings = Settings(tmp_path, tiny_world_dir, url, forecast_file, None)
    return db, load_snapshot(settings, db)


def _submit(db: Database, region: str, reported: int) -> int:
    row = {"region_id": region, "period": "2024-02-26", "category": "smuggling_of_migrants",
           "reported": reported, "detected": 100, "effort": 1.0}  # fmt: skip
    result = submit_incidents(
        db, pd.DataFrame([row]), file="rows.json", row_of=lambda i: i + 1, submitter=GRC
    )
    return result.submission_id


def _claim(db: Database, sid: int, **options: Any) -> AlertJob:
    job = claim_alert_job(db, by="replica", lease=60, submission_id=sid, **options)
    assert job is not None
    return job


def _keys(alerts: list[AlertRecord]) -> list[tuple[Any, ...]]:
    """What an alert says, without when it was raised or stored."""
    return sorted(
        (a.audience, a.kind, a.region_id, a.category, a.period, a.value, a.threshold,
         sorted(a.exceeded.items()))
        for a in alerts
    )  # fmt: skip


def test_a_retry_raises_what_the_first_try_would_have_whatever_came_in_since(
    world: tuple[Database, Snapshot],
) -> None:
    db, snapshot = world
    sid = _submit(db, "r004", 400)
    job = _claim(db, sid)
    first = submission_alerts(db, job, refreshed(snapshot, db), **THRESHOLDS)
    assert {a.audience for a in first} == {"*", "GRC/Border Police", "MKD/Border Police"}
    # The replica dies; meanwhile the same cell is corrected and another one comes in.
    _submit(db, "r004", 900)
    _submit(db, "r005", 700)
    stored = raise_job(db, job, refreshed(snapshot, db), **THRESHOLDS)
    assert stored is not None and _keys(stored) == _keys(first)
    assert {a.submission_id for a in stored} == {sid}


def test_a_submission_set_aside_owes_nothing_more(world: tuple[Database, Snapshot]) -> None:
    db, snapshot = world
    sid = _submit(db, "r004", 400)
    revert_submission(db, sid, reason=f"{QUARANTINED}: cannot forecast it", by=Submitter("x"))
    assert raise_job(db, _claim(db, sid), snapshot, **THRESHOLDS) == []
    assert outbox_counts(db) == {"alert_jobs.done": 1}


class _Failing:
    """A model that cannot forecast."""

    def predict(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        raise RuntimeError("the model failed")


def test_a_failed_try_stores_nothing_and_leaves_the_job_to_a_later_one(
    world: tuple[Database, Snapshot],
) -> None:
    db, snapshot = world
    sid = _submit(db, "r004", 400)
    failing = Snapshot(snapshot.panel, snapshot.source, ServedModel(_Failing(), {}, "test"))
    assert raise_job(db, _claim(db, sid), failing, **THRESHOLDS) is None
    assert outbox_counts(db) == {"alert_jobs.pending": 1}
    # Due again a little later, for any replica.
    assert claim_alert_job(db, by="other", lease=60, now=utcnow() + timedelta(seconds=1)) is None
    later = claim_alert_job(db, by="other", lease=60, now=utcnow() + timedelta(minutes=1))
    assert later is not None and later.attempts == 2
    stored = raise_job(db, later, snapshot, **THRESHOLDS)
    assert stored and outbox_counts(db) == {"alert_jobs.done": 1}
