"""What was submitted, as its sender reads it back: the list, a receipt, the rows stored.

A submission is its sender's: its agency and country (``sender``) read it, and the operator
(no country) reads every one; the sharing rules (``docs/design.md``) decide who asks for
which. A *receipt* is the stored submission with what happened to it since: the reverts of
it, and the reason it was set aside when the service quarantined it. Its *rows* are the cell
versions it stored (cells sent unchanged store none), each saying whether it is still the
current version of its cell or a later submission (a correction, a revert) replaced it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from crossplan.pipelines.contract.incidents import KEY
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.panel import VALUES, _frame, iso, select_versions
from crossplan.pipelines.database.revert import _revert_file, quarantine_reason
from crossplan.pipelines.database.schema import CellVersion, Submission

__all__ = [
    "Sender",
    "SubmissionReceipt",
    "SubmissionRecord",
    "get_receipt",
    "list_submissions",
    "submission_rows",
]

#: Whose submissions: ``(country, agency)`` of the sending key (its agency may be ``None``).
Sender = tuple[str, str | None]


@dataclass(frozen=True)
class SubmissionRecord:
    """One stored submission, as ``crossplan submissions list`` shows it."""

    id: int
    kind: str
    received_at: str
    key_name: str
    agency: str | None
    country: str | None
    file: str
    rows: int
    new: int
    corrected: int
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class SubmissionReceipt:
    """A stored submission and what happened to it since."""

    submission: SubmissionRecord
    fingerprint: str
    reverted_by: list[int]
    quarantined: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.submission.to_dict(),
            "fingerprint": self.fingerprint,
            "reverted_by": self.reverted_by,
            "quarantined": self.quarantined,
        }


def list_submissions(
    db: Database, limit: int = 50, *, sender: Sender | None = None
) -> list[SubmissionRecord]:
    """The latest submissions first; with ``sender``, only that agency's of that country."""
    query = sa.select(Submission.__table__)
    if sender is not None:
        query = query.where(*_sent_by(sender))
    with db.read() as con:
        rows = con.execute(query.order_by(Submission.id.desc()).limit(limit)).all()
    return [_record(r) for r in rows]


def get_receipt(
    db: Database, submission_id: int, *, sender: Sender | None = None
) -> SubmissionReceipt | None:
    """Submission ``submission_id``'s receipt; ``None`` when there is none, or when it is
    not ``sender``'s (another agency's submission is not found: its ids say nothing)."""
    query = sa.select(Submission.__table__).where(Submission.id == submission_id)
    if sender is not None:
        query = query.where(*_sent_by(sender))
    with db.read() as con:
        found = con.execute(query).first()
        if found is None:
            return None
        reverts = con.execute(
            sa.select(Submission.id)
            .where(Submission.file_name.startswith(_revert_file(submission_id, "")))
            .order_by(Submission.id)
        ).scalars()
        reverted_by = [int(i) for i in reverts]
    return SubmissionReceipt(
        _record(found), found.fingerprint, reverted_by, quarantine_reason(db, submission_id)
    )


def submission_rows(db: Database, submission_id: int) -> list[dict[str, Any]]:
    """The cell versions submission ``submission_id`` stored, in key order, as plain values:
    ``region_id, period`` (``YYYY-MM-DD``) ``, category``, the values, each covariate,
    ``source``, and ``current`` (whether it is still its cell's version). Check who asks
    first (:func:`get_receipt` with its ``sender``)."""
    cells = (
        sa.select(CellVersion.region_id, CellVersion.period, CellVersion.category)
        .where(CellVersion.submission_id == submission_id)
        .subquery()
    )
    query = select_versions(CellVersion.submission_id).join(
        cells,
        (cells.c.region_id == CellVersion.region_id)
        & (cells.c.period == CellVersion.period)
        & (cells.c.category == CellVersion.category),
    )
    with db.read() as con:
        history = _frame(con.execute(query))
    latest = history.drop_duplicates(list(KEY), keep="last").set_index(list(KEY))
    mine = history[history["submission_id"] == submission_id]
    mine = mine.drop_duplicates(list(KEY), keep="last").reset_index(drop=True)
    now_by = latest["submission_id"].reindex(pd.MultiIndex.from_frame(mine[list(KEY)]))
    covariates = pd.DataFrame(
        [json.loads(c) if isinstance(c, str) else {} for c in mine["covariates"]],
        index=mine.index,
    )
    out = mine[[*KEY, *VALUES]].join(covariates.reindex(sorted(covariates.columns), axis=1))
    out["source"] = mine["source"]
    out["current"] = now_by.to_numpy() == submission_id
    out["period"] = pd.to_datetime(out["period"]).dt.strftime("%Y-%m-%d")
    out = out.sort_values(list(KEY), ignore_index=True).astype(object)
    return [
        {k: _plain(v) for k, v in row.items()}
        for row in out.where(out.notna(), None).to_dict("records")
    ]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _sent_by(sender: Sender) -> list[sa.ColumnElement[bool]]:
    country, agency = sender
    same_agency = Submission.agency.is_(None) if agency is None else Submission.agency == agency
    return [Submission.country == country, same_agency]


def _record(r: Any) -> SubmissionRecord:
    return SubmissionRecord(
        r.id, r.kind, str(iso(r.received_at)), r.key_name, r.agency, r.country, r.file_name,
        r.rows, r.new_cells, r.corrected_cells, r.unchanged_cells,
    )  # fmt: skip
