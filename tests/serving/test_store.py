"""The plan store: append-only, one transaction per plan, and still there after a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from serving.store import PlanRecord, PlanStore


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
        "request": {"horizon": 1},
        "response": {"plan_id": plan_id, "status": "optimal", "regions": [{"effort": 1.0}]},
    }
    return PlanRecord(**{**base, **changes})  # type: ignore[arg-type]


def test_a_plan_comes_back_as_stored_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    record = _record("p1")
    PlanStore(path).add(record)
    assert PlanStore(path).get("p1") == record
    assert PlanStore(path).get("nope") is None


def test_the_store_runs_in_wal_mode(tmp_path: Path) -> None:
    PlanStore(tmp_path / "plans.db")
    with sqlite3.connect(tmp_path / "plans.db") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_recent_lists_newest_first_and_filters_by_requester(tmp_path: Path) -> None:
    store = PlanStore(tmp_path / "plans.db")
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
def test_stored_plans_cannot_be_changed_or_deleted(tmp_path: Path, statement: str) -> None:
    store = PlanStore(tmp_path / "plans.db")
    store.add(_record("p1", status="infeasible"))
    with (
        sqlite3.connect(tmp_path / "plans.db") as con,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        con.execute(statement)
    assert store.get("p1") == _record("p1", status="infeasible")


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    store = PlanStore(tmp_path / "plans.db")
    store.add(_record("p1"))
    with pytest.raises(sqlite3.IntegrityError):
        store.add(_record("p1", requester="mallory"))  # same id: the insert fails
    with pytest.raises(ValueError):
        store.add(_record("p2", response={"objective": float("nan")}))  # not valid JSON
    assert [s.plan_id for s in store.recent()] == ["p1"]
    assert store.get("p1") == _record("p1")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_keys_never_reach_the_plan_store(
    client: TestClient, served: dict[str, str], tmp_path: Path
) -> None:
    r = client.post("/plan", json={"horizon": 1}, headers=bearer(served["planner"]))
    assert r.status_code == 200
    stored = b"".join(p.read_bytes() for p in (tmp_path / "home").glob("plans.db*"))
    assert r.json()["plan_id"].encode() in stored
    assert all(token.encode() not in stored for token in served.values())
