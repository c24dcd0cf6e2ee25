"""Two replicas acting on one joint operation at once leave one consistent history, on
PostgreSQL (and SQLite): writes to an operation queue behind the lock of its row, and the
confirmation is derived inside the transaction that completes the needs.

Each replica is a thread with a ``Database`` of its own. The world is read slowly (a stand-in
for a busy replica), so that each pledge holds its transaction open while the other one
starts: without the lock both would read the operation before either wrote.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import (
    Actor,
    Database,
    Need,
    Proposal,
    UnitPledge,
    confirmed_operations,
    get_operation,
    pledge,
    propose,
)
from crossplan.pipelines.errors import DataValidationError, OperationConflictError

NOW = datetime(2026, 3, 4, 12, 0)
WEEKS = (date(2026, 3, 9), date(2026, 3, 16))
GRC = Actor("grc-planner", "GRC", "Border Police")
GRC_CG = Actor("grc-coast", "GRC", "Coast Guard")
MKD = Actor("mkd-planner", "MKD", "Border Police")


class _Slow:
    """The world as a busy replica reads it: its resources take ``seconds`` each time."""

    def __init__(self, dataset: Dataset, seconds: float) -> None:
        self._dataset, self._seconds = dataset, seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dataset, name)

    @property
    def resources(self) -> Any:
        time.sleep(self._seconds)
        return self._dataset.resources


def _at_once(url: str, acts: list[Callable[[Database], Any]]) -> list[Any]:
    """Run each act in a thread of its own with a database of its own, started together;
    what each returned or raised."""
    start = threading.Barrier(len(acts))
    results: list[Any] = [None] * len(acts)

    def run(i: int) -> None:
        db = Database(url)
        try:
            start.wait()
            results[i] = acts[i](db)
        except Exception as err:  # kept to be asserted on
            results[i] = err
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(acts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture
def proposed(shared_db: Database, tiny_dataset: Dataset) -> Database:
    needs = {"GRC": Need(4), "MKD": Need(4)}
    propose(shared_db, tiny_dataset, GRC, Proposal(("r004", "r007"), WEEKS, needs), now=NOW)
    return shared_db


def test_the_last_two_pledges_at_once_confirm_the_operation_once(
    proposed: Database, database_url: str, tiny_dataset: Dataset
) -> None:
    slow: Any = _Slow(tiny_dataset, 0.15)
    results = _at_once(database_url, [
        lambda db: pledge(db, slow, GRC, "JO-2", [UnitPledge("GRC-BP-01", 4)], now=NOW),
        lambda db: pledge(db, slow, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=NOW),
    ])  # fmt: skip
    assert not [r for r in results if isinstance(r, Exception)]
    # one of them saw the other's pledge, and confirmed it: once
    assert sorted(len(r.steps) for r in results) == [1, 2]
    steps = get_operation(proposed, None, "JO-2").steps
    assert [s.seq for s in steps] == [1, 2, 3, 4]
    assert [s.kind for s in steps][-1] == "confirmed"
    assert sorted(s.party or "" for s in steps if s.kind == "pledged") == ["GRC", "MKD"]
    (confirmed,) = confirmed_operations(proposed, WEEKS)
    assert set(confirmed.pledges) == {"GRC", "MKD"}


def test_a_pledge_that_comes_after_the_confirmation_is_refused_not_half_written(
    proposed: Database, database_url: str, tiny_dataset: Dataset
) -> None:
    pledge(proposed, tiny_dataset, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=NOW)
    slow: Any = _Slow(tiny_dataset, 0.15)
    results = _at_once(database_url, [
        lambda db: pledge(db, slow, GRC, "JO-2", [UnitPledge("GRC-BP-01", 4)], now=NOW),
        lambda db: pledge(db, slow, GRC_CG, "JO-2", [UnitPledge("GRC-CG-01", 5)], now=NOW),
    ])  # fmt: skip
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], OperationConflictError)
    assert "JO-2 is confirmed" in str(refused[0])
    steps = get_operation(proposed, None, "JO-2").steps
    assert [s.kind for s in steps] == ["proposed", "pledged", "pledged", "confirmed"]
    assert [s.seq for s in steps] == [1, 2, 3, 4]


def test_one_unit_pledged_to_two_operations_at_once_is_booked_once(
    proposed: Database, database_url: str, tiny_dataset: Dataset
) -> None:
    """GRC-BP-01 has 12 shifts a week: of 8 pledged to JO-2 and 8 to JO-3 at the same moment,
    one pledge passes and the other is refused with what JO-2 or JO-3 holds."""
    needs = {"GRC": Need(8), "MKD": Need(4)}
    propose(proposed, tiny_dataset, GRC, Proposal(("r004", "r007"), WEEKS, needs), now=NOW)
    slow: Any = _Slow(tiny_dataset, 0.15)
    results = _at_once(database_url, [
        lambda db, op=op: pledge(db, slow, GRC, op, [UnitPledge("GRC-BP-01", 8)], now=NOW)
        for op in ("JO-2", "JO-3")
    ])  # fmt: skip
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], DataValidationError)
    assert "8 of them are pledged" in refused[0].problems[0].message
    held = [get_operation(proposed, None, op).pledged_shifts("GRC") for op in ("JO-2", "JO-3")]
    assert sorted(sum(h.values()) for h in held) == [0, 16]
