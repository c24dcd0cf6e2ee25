"""The alerts table: each audience lists its own alerts, newest first, as they were stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from crossplan.pipelines.database import (
    AlertRecord,
    Database,
    latest_submission,
    list_alerts,
    store_alerts,
)
from crossplan.pipelines.database.schema import Alert


@dataclass(frozen=True)
class Reader:
    """An audience as :class:`serving.sharing.Audience` gives it."""

    label: str
    operator: bool = False


OPERATOR = Reader("*", operator=True)
GRC = Reader("GRC/Border Police")


def _alert(db: Database, audience: str, region_id: str = "r001") -> AlertRecord:
    return AlertRecord(
        None,
        "2026-03-02T10:00:00.123456+00:00",
        latest_submission(db),
        "forecast_jump",
        region_id,
        "GRC",
        "all",
        "2026-03-09",
        3.5,
        2.0,
        {"region_id": region_id, "period": "2026-03-09", "activity_q90": 2.0},
        audience,
    )


def test_each_audience_lists_its_own_alerts_newest_first(shared_db: Database) -> None:
    alerts = [_alert(shared_db, "*"), _alert(shared_db, GRC.label),
              _alert(shared_db, GRC.label, "r002")]  # fmt: skip
    stored = store_alerts(shared_db, alerts)
    assert len({a.id for a in stored} - {None}) == 3  # each has an id of its own
    assert [a.id for a in alerts] == [None] * 3  # the records given are left as they were
    assert list_alerts(shared_db, GRC) == [stored[2], stored[1]]
    assert list_alerts(shared_db, GRC, limit=1) == [stored[2]]
    assert list_alerts(shared_db, OPERATOR) == [stored[0]]
    assert list_alerts(shared_db, Reader("MKD/")) == []


def test_alerts_stored_without_an_audience_are_the_operators(shared_db: Database) -> None:
    submission_id = latest_submission(shared_db)
    with shared_db.write() as con:  # as alerts were stored before they had an audience
        con.execute(sa.insert(Alert).values(
            created_at=datetime(2026, 3, 2, 9, 0), submission_id=submission_id,
            kind="observed_above_q90", region_id="r001", country="GRC", category="all",
            period=date(2026, 3, 2), value=5.0, threshold=4.0, exceeded="{}", audience=None,
        ))  # fmt: skip
    (listed,) = list_alerts(shared_db, OPERATOR)
    assert (listed.audience, listed.period, listed.exceeded) == ("*", "2026-03-02", {})
    assert list_alerts(shared_db, GRC) == []
