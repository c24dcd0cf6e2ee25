"""The plan store: append-only, one transaction per plan, and still there after a reopen."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from crossplan.pipelines.database import Database, PlanRecord, PlanStore, audit_trail


def _record(plan_id: str, requester: str = "alice", **changes: object) -> PlanRecord:
    base: dict[str, object] = {
        "plan_id": plan_id,
        "created_at": "2026-03-02T10:00:00.000+00:00",
        "requester": requester,
        "model_name": "crossplan-risk",
        "model_version": "3",
        "input_fingerprint": "f" * 64,
        "status": "optimal",
        "objective": 12.5,
        "solver": "cbc",
        "solve_seconds": 0.4,
        "total_seconds": 0.6,
        "request": '{"horizon":1}',
        "response": {"plan_id": plan_id, "status": "optimal", "regions": [{"effort": 1.0}]},
    }
    return PlanRecord(**{**base, **changes})  # type: ignore[arg-type]


@pytest.fixture
def store(database_url: str) -> PlanStore:
    return PlanStore(Database.connect(database_url))


def test_a_plan_comes_back_as_stored_after_reopening(database_url: str) -> None:
    record = _record("p1", data_as_of="2026-03-02T09:00:00+00:00")
    PlanStore(Database.connect(database_url)).add(record)
    assert PlanStore(Database.connect(database_url)).get("p1") == record
    assert PlanStore(Database.connect(database_url)).get("nope") is None


def test_a_plan_stored_with_one_operation_row_per_period_comes_back_grouped(
    store: PlanStore,
) -> None:
    def row(period: str, launched: bool) -> dict[str, object]:
        return {"operation_id": "JO-1", "period": period, "launched": launched,
                "commitments": {"GRC": 4 * launched, "MKD": 0}, "regions": ["r1"]}  # fmt: skip

    old = [row("2026-03-09", False), row("2026-03-02", True)]
    store.add(_record("p1", response={"plan_id": "p1", "joint_operations": old}))
    (operation,) = store.get("p1").response["joint_operations"]  # type: ignore[union-attr]
    assert operation == {
        "operation_id": "JO-1",
        "regions": ["r1"],
        "periods": [
            {"period": "2026-03-02", "launched": True, "commitments": {"GRC": 4, "MKD": 0}},
            {"period": "2026-03-09", "launched": False, "commitments": {"GRC": 0, "MKD": 0}},
        ],
    }


def test_the_sqlite_store_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'crossplan.db'}")
    with db.read() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_recent_lists_newest_first_and_filters_by_requester(store: PlanStore) -> None:
    for i, who in enumerate(["alice", "bob", "alice"]):
        store.add(_record(f"p{i}", who))
    assert [s.plan_id for s in store.recent()] == ["p2", "p1", "p0"]
    assert [s.plan_id for s in store.recent(limit=1)] == ["p2"]
    assert [s.plan_id for s in store.recent(requester="bob")] == ["p1"]
    assert store.count() == 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE plans SET status = 'optimal'",  # rewriting history
        "DELETE FROM plans",  # erasing it
    ],
)
def test_stored_plans_cannot_be_changed_or_deleted(store: PlanStore, statement: str) -> None:
    store.add(_record("p1", status="infeasible"))
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        store.db.engine.begin() as con,
    ):
        con.execute(sa.text(statement))
    assert store.get("p1") == _record("p1", status="infeasible")


def test_a_failed_write_leaves_nothing_behind(store: PlanStore) -> None:
    store.add(_record("p1"))
    with pytest.raises(sa.exc.IntegrityError):
        store.add(_record("p1", requester="mallory"))  # same id: the insert fails
    with pytest.raises(ValueError):
        store.add(_record("p2", response={"objective": float("nan")}))  # not valid JSON
    assert [s.plan_id for s in store.recent()] == ["p1"]
    assert store.get("p1") == _record("p1")


def test_a_plan_and_its_audit_line_commit_together_or_not_at_all(store: PlanStore) -> None:
    store.add(_record("p1"), by="alice", status="optimal", countries=["GRC"])
    (line,) = audit_trail(store.db, action="plan")
    assert (line.actor, line.detail) == (
        "alice",
        {"plan_id": "p1", "status": "optimal", "countries": ["GRC"]},
    )
    # An audit line that cannot be written (its detail refers to itself: no JSON) takes the
    # plan with it, as a crash between the two writes would.
    cyclic: dict[str, object] = {}
    cyclic["self"] = cyclic
    with pytest.raises(ValueError, match="Circular reference"):
        store.add(_record("p2"), by="alice", status=cyclic)
    assert store.get("p2") is None
    assert [s.plan_id for s in store.recent()] == ["p1"]
    assert len(audit_trail(store.db, action="plan")) == 1
