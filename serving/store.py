"""The plan store: every plan the service made, append-only, in SQLite (WAL).

One plan is one row written in one transaction, so a crash mid-request leaves either the
whole plan or nothing. Triggers refuse updates and deletes: the store is an audit trail.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = ["PlanRecord", "PlanStore", "PlanSummary"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id           TEXT NOT NULL UNIQUE,
    created_at        TEXT NOT NULL,
    requester         TEXT NOT NULL,
    model_name        TEXT,
    model_version     TEXT,
    input_fingerprint TEXT NOT NULL,
    status            TEXT NOT NULL,
    objective         REAL,
    solver            TEXT NOT NULL,
    solve_seconds     REAL,
    total_seconds     REAL NOT NULL,
    request_json      TEXT NOT NULL,
    response_json     TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS plans_no_update BEFORE UPDATE ON plans
BEGIN SELECT RAISE(ABORT, 'plans are append-only'); END;
CREATE TRIGGER IF NOT EXISTS plans_no_delete BEFORE DELETE ON plans
BEGIN SELECT RAISE(ABORT, 'plans are append-only'); END;
"""

_SUMMARY_COLUMNS = (
    "plan_id, created_at, requester, status, objective, model_version, solver, "
    "solve_seconds, total_seconds"
)


@dataclass(frozen=True)
class PlanSummary:
    """One line of the plan list."""

    plan_id: str
    created_at: str
    requester: str
    status: str
    objective: float | None
    model_version: str | None
    solver: str
    solve_seconds: float | None
    total_seconds: float


@dataclass(frozen=True)
class PlanRecord:
    """A stored plan with what it was made from.

    Attributes
    ----------
    request
        The request body as received (after validation), never the caller's key.
    response
        The response body as sent.
    total_seconds
        Time from the request's arrival to the plan being ready, forecast included.
    """

    plan_id: str
    created_at: str
    requester: str
    model_name: str | None
    model_version: str | None
    input_fingerprint: str
    status: str
    objective: float | None
    solver: str
    solve_seconds: float | None
    total_seconds: float
    request: dict[str, Any]
    response: dict[str, Any]


_RECORD_FIELDS = tuple(f.name for f in fields(PlanRecord))


class PlanStore:
    """Plans in a SQLite file; safe to share between threads and processes.

    Parameters
    ----------
    path
        The database file, created with its directory when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short connection per operation: cheap, and free of cross-thread state.
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            con.execute("PRAGMA synchronous=FULL")
            yield con
        finally:
            con.close()

    def add(self, record: PlanRecord) -> None:
        """Append one plan, atomically."""
        # Serialise before the transaction so a bad value cannot interrupt it.
        row = (
            record.plan_id,
            record.created_at,
            record.requester,
            record.model_name,
            record.model_version,
            record.input_fingerprint,
            record.status,
            record.objective,
            record.solver,
            record.solve_seconds,
            record.total_seconds,
            json.dumps(record.request, separators=(",", ":"), allow_nan=False),
            json.dumps(record.response, separators=(",", ":"), allow_nan=False),
        )
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute(
                    "INSERT INTO plans (plan_id, created_at, requester, model_name, "
                    "model_version, input_fingerprint, status, objective, solver, "
                    "solve_seconds, total_seconds, request_json, response_json) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def get(self, plan_id: str) -> PlanRecord | None:
        """The plan with this id, or ``None``."""
        with self._connect() as con:
            found = con.execute(
                "SELECT plan_id, created_at, requester, model_name, model_version, "
                "input_fingerprint, status, objective, solver, solve_seconds, total_seconds, "
                "request_json, response_json FROM plans WHERE plan_id = ?",
                (plan_id,),
            ).fetchone()
        if found is None:
            return None
        values = dict(zip(_RECORD_FIELDS, found, strict=True))
        values["request"] = json.loads(values["request"])
        values["response"] = json.loads(values["response"])
        return PlanRecord(**values)

    def recent(self, limit: int = 50, requester: str | None = None) -> list[PlanSummary]:
        """The latest plans first, optionally only those of one requester."""
        where, params = ("WHERE requester = ?", (requester,)) if requester else ("", ())
        with self._connect() as con:
            rows = con.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM plans {where} ORDER BY seq DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [PlanSummary(*r) for r in rows]

    def count(self) -> int:
        with self._connect() as con:
            (n,) = con.execute("SELECT COUNT(*) FROM plans").fetchone()
        return int(n)
