"""Reverting a submission: a new submission that puts its cells back as they were before it.

The history tables are append-only, so a revert rewrites nothing: it adds a submission of
kind ``revert`` holding, for every cell the reverted submission wrote, the version that was
current before it (*restored*), or, for a cell it created, a version with every value empty
that withdraws the cell from the panel (*withdrawn*, see :mod:`pipelines.database.panel`).
The panel after the revert is the panel before the reverted submission, in those cells.

A cell whose value changed since (a later correction, or a revert of this submission) no
longer holds what the reverted submission wrote: rather than undo someone else's later work,
or revert half of a submission, the revert is refused and names the submissions to revert
first (newest first). A later version with the very values the submission wrote (a later
correction, reverted since) is no change. A revert can itself be reverted, which puts its
cells back again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.contract.incidents import KEY
from crossplan.pipelines.database.audit import append_event
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.panel import (
    VALUES,
    WITHDRAWN_KIND,
    _frame,
    iso,
    select_versions,
    utcnow,
    withdrawn,
)
from crossplan.pipelines.database.schema import CellVersion, Submission
from crossplan.pipelines.database.versions import (
    Submitter,
    _day,
    insert_submission,
    insert_versions,
    receipt_time,
    unique_fingerprint,
)
from crossplan.pipelines.errors import ConfigurationError

__all__ = [
    "QUARANTINED",
    "RevertResult",
    "quarantine_reason",
    "revert_in",
    "revert_submission",
]

#: How the reason of a revert that quarantines a submission starts: the service reverts a
#: submission its champion cannot forecast the panel with, and the reason says why.
QUARANTINED = "quarantined"

_CELL_KINDS = ("incidents", WITHDRAWN_KIND)
_SHOWN = 10


@dataclass(frozen=True)
class RevertResult:
    """What a revert did: its own submission, and the cells restored and withdrawn."""

    submission_id: int
    reverted: int
    received_at: str
    restored: int
    withdrawn: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def revert_submission(
    db: Database,
    submission_id: int,
    *,
    reason: str,
    by: Submitter,
    now: Callable[[], datetime] = utcnow,
) -> RevertResult:
    """Put back every cell submission ``submission_id`` wrote, as it was before it.

    Parameters
    ----------
    reason
        Why (kept in the audit trail and the revert's file name).
    by
        Who reverts (an administrator; the command line's operator).

    Raises
    ------
    ConfigurationError
        No such submission; one that wrote no cells (a document, or a repeat); a reason that
        is empty; or cells of it changed since by later submissions (which it names).
    """
    with db.write("submissions") as con:
        return revert_in(con, submission_id, reason=reason, by=by, now=now)


def revert_in(
    con: Connection,
    submission_id: int,
    *,
    reason: str,
    by: Submitter,
    now: Callable[[], datetime] = utcnow,
) -> RevertResult:
    """:func:`revert_submission` inside the caller's transaction (the unit of work of an act
    the revert is part of); the caller holds the ``submissions`` lock."""
    reason = " ".join(reason.split())
    if not reason:
        raise ConfigurationError("a revert needs a reason — fix: give --reason TEXT")
    target = _target(con, submission_id)
    history = _history(con, submission_id)
    mine = history["submission_id"] == submission_id
    changed = _changed_since(history, mine)
    if not changed.empty:
        raise ConfigurationError(_refusal(con, submission_id, changed))
    ours = history.loc[mine, [*KEY, "id"]].rename(columns={"id": "_ours"})
    joined = history.merge(ours, on=list(KEY))
    before = joined[joined["id"] < joined["_ours"]].drop_duplicates(list(KEY), keep="last")
    put_back = history.loc[mine, list(KEY)].merge(before, on=list(KEY), how="left", indicator=True)
    gone = (put_back["_merge"] == "left_only").to_numpy() | withdrawn(
        put_back.fillna({"kind": ""})
    ).to_numpy()
    versions = put_back[[*KEY, *VALUES, "covariates", "source"]].copy()
    versions.loc[gone, [*VALUES, "covariates", "source"]] = None
    versions["period"] = [_day(p) for p in versions["period"]]
    for column in ("reported", "detected", "count"):
        versions[column] = pd.array(pd.to_numeric(versions[column]), dtype="Int64")
    versions["effort"] = pd.to_numeric(versions["effort"]).astype("float64")
    # A restored version with every value empty would read as a withdrawal.
    empty = versions[[*VALUES, "covariates"]].isna().all(axis=1).to_numpy() & ~gone
    versions.loc[empty, "covariates"] = "{}"
    received = receipt_time(con, now)
    fingerprint = unique_fingerprint(con, f"revert\n{submission_id}\n{iso(received)}")
    restored, dropped = int((~gone).sum()), int(gone.sum())
    revert_id = insert_submission(
        con,
        fingerprint=fingerprint,
        kind=WITHDRAWN_KIND,
        received_at=received,
        submitter=by,
        file=_revert_file(submission_id, reason),
        rows=len(versions),
        counts=(0, restored + dropped, 0),
    )
    insert_versions(con, versions, revert_id)
    append_event(
        con,
        by.key_name,
        "revert",
        actor_agency=by.agency,
        actor_country=by.country,
        at=received,
        submission_id=revert_id,
        reverted=submission_id,
        reverted_file=target.file_name,
        reverted_agency=target.agency,
        country=target.country,
        restored=restored,
        withdrawn=dropped,
        reason=reason,
    )
    return RevertResult(revert_id, submission_id, str(iso(received)), restored, dropped, reason)


def quarantine_reason(db: Database, submission_id: int) -> str | None:
    """Why submission ``submission_id`` was quarantined (the latest such revert of it), or
    ``None`` when it was not, or when its quarantine was reverted since."""
    prefix = _revert_file(submission_id, f"{QUARANTINED}: ")
    with db.read() as con:
        found = con.execute(
            sa.select(Submission.id, Submission.file_name)
            .where(Submission.kind == WITHDRAWN_KIND, Submission.file_name.startswith(prefix))
            .order_by(Submission.id.desc())
            .limit(1)
        ).first()
        if found is None:
            return None
        undone = con.execute(
            sa.select(sa.func.count())
            .select_from(Submission)
            .where(Submission.file_name.startswith(_revert_file(found.id, "")))
        ).scalar_one()
    return None if undone else found.file_name[len(prefix) :]


def _target(con: Connection, submission_id: int) -> Any:
    target = con.execute(
        sa.select(Submission.__table__).where(Submission.id == submission_id)
    ).first()
    if target is None:
        raise ConfigurationError(
            f"no submission {submission_id} — fix: `crossplan submissions list` shows their ids"
        )
    if target.kind not in _CELL_KINDS:
        raise ConfigurationError(
            f"submission {submission_id} is a {target.kind} document, not incident cells — "
            f"fix: import the {target.kind} file you want (`crossplan import --data DIR`)"
        )
    wrote = con.execute(
        sa.select(sa.func.count()).where(CellVersion.submission_id == submission_id)
    ).scalar_one()
    if not wrote:
        raise ConfigurationError(
            f"submission {submission_id} changed no cell ('{target.file_name}' was all "
            "unchanged): there is nothing to revert"
        )
    return target


def _history(con: Connection, submission_id: int) -> pd.DataFrame:
    """Every version of every cell the submission wrote, oldest first."""
    cells = (
        sa.select(CellVersion.region_id, CellVersion.period, CellVersion.category)
        .where(CellVersion.submission_id == submission_id)
        .subquery()
    )
    query = select_versions(CellVersion.id, CellVersion.submission_id).join(
        cells,
        (cells.c.region_id == CellVersion.region_id)
        & (cells.c.period == CellVersion.period)
        & (cells.c.category == CellVersion.category),
    )
    return _frame(con.execute(query))


def _changed_since(history: pd.DataFrame, mine: pd.Series) -> pd.DataFrame:
    """The current versions of cells whose value is no longer the one the submission wrote.

    A later version with the same values (a correction reverted since) is no change; nor is
    a cell withdrawn again that the submission withdrew.
    """
    current = history.drop_duplicates(list(KEY), keep="last")
    written = history[mine]
    both = current.merge(written, on=list(KEY), suffixes=("", "_written"))
    gone = withdrawn(both).to_numpy()
    then = both[[f"{c}_written" for c in (*VALUES, "covariates", "kind")]]
    was_gone = withdrawn(then.set_axis([*VALUES, "covariates", "kind"], axis=1)).to_numpy()
    same = (gone & was_gone) | (~gone & ~was_gone)
    for column in (*VALUES, "covariates"):
        now, before = both[column].astype(object), both[f"{column}_written"].astype(object)
        equal = (now.isna() & before.isna()) | (now == before).fillna(False).astype(bool)
        same &= equal.to_numpy() | gone
    return both[~same]


def _refusal(con: Connection, submission_id: int, changed: pd.DataFrame) -> str:
    """Why a revert is refused: which cells changed since, and by which submissions."""
    ids = sorted({int(i) for i in changed["submission_id"]}, reverse=True)
    found = con.execute(
        sa.select(Submission.id, Submission.kind, Submission.file_name).where(
            Submission.id.in_(ids)
        )
    ).all()
    kinds = {r.id: r.kind for r in found}
    shown = ", ".join(
        f"{r.region_id} {str(r.period)[:10]} {r.category}"
        for r in changed.head(_SHOWN).itertuples()
    )
    more = f" and {len(changed) - _SHOWN} more" if len(changed) > _SHOWN else ""
    named = ", ".join(f"{i} ({kinds.get(i, '?')})" for i in ids)
    undone = [r.id for r in found if r.file_name.startswith(_revert_file(submission_id, ""))]
    already = f"; it was reverted by submission {undone[0]}" if undone else ""
    return (
        f"cannot revert submission {submission_id}: {len(changed)} of its cells hold other "
        f"values since ({shown}{more}), from submission(s) {named}{already} — fix: revert "
        f"those first, newest first (`crossplan submissions revert {ids[0]} --reason TEXT`), "
        "or submit the values you want as a correction"
    )


def _revert_file(submission_id: int, reason: str) -> str:
    """The file name a revert is stored under: what it reverts and why."""
    return f"revert of {submission_id}: {reason}"
