"""Storing submissions: cells as new versions, documents, and when content is a repeat.

Every write happens inside the caller's transaction (which holds the write lock), so a
submission, its cells and its audit event commit together or not at all.

**When is a submission a repeat?** The ``submissions.fingerprint`` column is unique, and
sending the same content again must not store it twice (a client that retries after a
timeout). But content that equals an *older* submission can still change the panel: a
correction back to an earlier value (A, then B, then A again). So a submission is a repeat
only when it would change nothing in the current panel *and* the same content was stored
before; otherwise it is stored, under its content's fingerprint the first time and under
``sha256(fingerprint + "\\n" + n)`` the n-th time, so the column stays unique and the
latest storing of some content is found by counting up. Unchanged cells (values equal to
the current version's, whoever sends them) are never stored again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.contract.incidents import KEY
from crossplan.pipelines.database.panel import (
    VALUES,
    _document,
    _frame,
    iso,
    select_versions,
    withdrawn,
)
from crossplan.pipelines.database.schema import CellVersion, Document, Submission

__all__ = [
    "SubmissionCheck",
    "SubmissionResult",
    "Submitter",
    "insert_submission",
    "preview_cells",
    "receipt_time",
    "store_cells",
    "store_document",
    "unique_fingerprint",
]

_BATCH = 32


@dataclass(frozen=True)
class Submitter:
    """Who sends a submission.

    Attributes
    ----------
    agency
        The key's agency: every row it sends is stored with it as the ``source``.
    country
        The only country whose regions it may send; ``None`` for the operator's imports.
    admin
        Whether the key is an administrator's, which may add a category the panel does not
        have yet.
    """

    key_name: str
    agency: str | None = None
    country: str | None = None
    admin: bool = False


@dataclass(frozen=True)
class SubmissionCheck:
    """What a submission would do, checked and not stored (a dry run)."""

    file: str
    rows: int
    new: int
    corrected: int
    unchanged: int
    duplicate: bool
    periods: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class SubmissionResult(SubmissionCheck):
    """What a submission did: counts of cells new, corrected and unchanged, and where it was
    stored (a duplicate names the earlier submission that holds the same content)."""

    submission_id: int = 0
    received_at: str = ""
    fingerprint: str = ""

    def to_dict(self) -> dict[str, Any]:
        where = ("submission_id", "received_at", "fingerprint")
        return {**{k: getattr(self, k) for k in where}, **super().to_dict()}


@dataclass(frozen=True)
class _Classified:
    """A table's cells against the current panel: which are new, which changed."""

    base: str
    records: pd.DataFrame
    periods: list[str]
    new: np.ndarray
    changed: np.ndarray

    @property
    def counts(self) -> tuple[int, int, int]:
        unchanged = ~self.new & ~self.changed
        return int(self.new.sum()), int(self.changed.sum()), int(unchanged.sum())


def _classify(con: Connection, kind: str, table: pd.DataFrame) -> _Classified:
    records = _records(table)
    periods = sorted({p.isoformat() for p in records["period"].unique()})
    stored = current_versions(con, records["period"].unique())
    merged = records.merge(stored, on=list(KEY), how="left", suffixes=("", "_old"))
    new = merged["_known"].isna().to_numpy()
    same = np.ones(len(merged), dtype=bool)
    for column in (*VALUES, "covariates"):  # not the source: who sends a value is no change
        same &= _same(merged[column], merged[f"{column}_old"]).to_numpy()
    return _Classified(_content_fingerprint(kind, table), records, periods, new, ~new & ~same)


def preview_cells(con: Connection, kind: str, table: pd.DataFrame, file: str) -> SubmissionCheck:
    """What :func:`store_cells` would do with a validated table, writing nothing."""
    cells = _classify(con, kind, table)
    counts = cells.counts
    _, earlier = _occurrences(con, cells.base)
    repeat = earlier is not None and counts[0] + counts[1] == 0
    return SubmissionCheck(file, len(table), *counts, repeat, cells.periods)


def store_cells(
    con: Connection,
    kind: str,
    table: pd.DataFrame,
    file: str,
    submitter: Submitter,
    now: Callable[[], datetime],
) -> SubmissionResult:
    """Store the cells of a validated table that change the current panel.

    A repeat (see the module's docstring) stores nothing and answers the earlier submission.
    """
    cells = _classify(con, kind, table)
    counts, base, periods = cells.counts, cells.base, cells.periods
    times, earlier = _occurrences(con, base)
    if earlier is not None and counts[0] + counts[1] == 0:
        return SubmissionResult(
            file, len(table), 0, 0, counts[2], True, periods,
            submission_id=earlier, received_at=_received(con, earlier), fingerprint=base,
        )  # fmt: skip
    submission_id, received = _record(
        con, base, times, kind, submitter, file, len(table), counts, now
    )
    insert_versions(con, cells.records[cells.new | cells.changed], submission_id)
    return SubmissionResult(
        file, len(table), *counts, False, periods,
        submission_id=submission_id, received_at=str(iso(received)), fingerprint=base,
    )  # fmt: skip


def store_document(
    con: Connection,
    kind: str,
    name: str,
    content: str,
    submitter: Submitter,
    now: Callable[[], datetime],
) -> SubmissionResult:
    """Store a regions or resources document, unless it is the current one already."""
    base = hashlib.sha256(kind.encode() + content.encode()).hexdigest()
    current = _document(con, kind, datetime.max)
    if current is not None and current.content == content:
        at = _received(con, current.submission_id)
        return SubmissionResult(
            name, 0, 0, 0, 0, True, [],
            submission_id=current.submission_id, received_at=at, fingerprint=base,
        )  # fmt: skip
    times, _ = _occurrences(con, base)
    submission_id, received = _record(con, base, times, kind, submitter, name, 0, (0, 0, 0), now)
    con.execute(sa.insert(Document).values(submission_id=submission_id, name=name, content=content))
    return SubmissionResult(
        name, 0, 0, 0, 0, False, [],
        submission_id=submission_id, received_at=str(iso(received)), fingerprint=base,
    )  # fmt: skip


def _record(
    con: Connection,
    base: str,
    times: int,
    kind: str,
    submitter: Submitter,
    file: str,
    rows: int,
    counts: tuple[int, int, int],
    now: Callable[[], datetime],
) -> tuple[int, datetime]:
    """Insert a new submission of content ``base`` stored ``times`` times before, received
    now: its id and receipt time."""
    received = receipt_time(con, now)
    submission_id = insert_submission(
        con, fingerprint=_nth(base, times + 1), kind=kind, received_at=received,
        submitter=submitter, file=file, rows=rows, counts=counts,
    )  # fmt: skip
    return submission_id, received


def _received(con: Connection, submission_id: int) -> str:
    """When a stored submission was received (ISO 8601, UTC): what a repeat answers."""
    at = con.execute(sa.select(Submission.received_at).where(Submission.id == submission_id))
    return str(iso(at.scalar_one()))


def unique_fingerprint(con: Connection, content: str) -> str:
    """A fingerprint for ``content`` that no stored submission has yet."""
    base = hashlib.sha256(content.encode()).hexdigest()
    times, _ = _occurrences(con, base)
    return _nth(base, times + 1)


def receipt_time(con: Connection, now: Callable[[], datetime]) -> datetime:
    """Now, but after every earlier receipt (the write lock is held, so times only grow)."""
    last = con.execute(sa.select(sa.func.max(Submission.received_at))).scalar()
    moment = now()
    if last is not None and moment <= last:
        moment = last + timedelta(microseconds=1)
    return moment


def insert_submission(
    con: Connection,
    *,
    fingerprint: str,
    kind: str,
    received_at: datetime,
    submitter: Submitter,
    file: str,
    rows: int,
    counts: tuple[int, int, int],
) -> int:
    """Insert a submission's row; its id."""
    result = con.execute(
        sa.insert(Submission)
        .values(
            fingerprint=fingerprint,
            kind=kind,
            received_at=received_at,
            key_name=submitter.key_name[:64],
            agency=submitter.agency,
            country=submitter.country,
            file_name=file[:200],
            rows=rows,
            new_cells=counts[0],
            corrected_cells=counts[1],
            unchanged_cells=counts[2],
        )
        .returning(Submission.id)
    )
    return int(result.scalar_one())


def insert_versions(con: Connection, records: pd.DataFrame, submission_id: int) -> None:
    """Insert cell versions (columns of :func:`_records`) into a submission."""
    keep = records.assign(submission_id=submission_id)
    rows = [
        {k: (None if v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) else v)
         for k, v in row.items()}
        for row in keep.astype(object).to_dict("records")
    ]  # fmt: skip
    if rows:
        con.execute(sa.insert(CellVersion), rows)


def current_versions(con: Connection, periods: Iterable[Any]) -> pd.DataFrame:
    """The current version of every cell of ``periods`` (withdrawn cells are absent).

    Value columns carry the suffix ``_old``, and ``_known`` is true on every row, for a
    left merge onto submitted records.
    """
    days = sorted({pd.Timestamp(p).date() for p in periods})
    frames = []
    for start in range(0, len(days), 500):
        result = con.execute(
            select_versions().where(CellVersion.period.in_(days[start : start + 500]))
        )
        frames.append(_frame(result))
    columns = [*KEY, *VALUES, "covariates", "source", "kind"]
    stored = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if stored.empty:
        stored = pd.DataFrame(columns=columns)
    stored = stored.drop_duplicates(list(KEY), keep="last")
    stored = stored[~withdrawn(stored)].drop(columns="kind")
    stored["period"] = [_day(p) for p in stored["period"]]
    renamed = stored.rename(columns={c: f"{c}_old" for c in columns if c not in KEY})
    return renamed.assign(_known=True)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else pd.Timestamp(value).date()


def _occurrences(con: Connection, base: str) -> tuple[int, int | None]:
    """How many times content of fingerprint ``base`` was stored, and the latest one's id."""
    times, latest = 0, None
    while True:
        batch = {_nth(base, k): k for k in range(times + 1, times + 1 + _BATCH)}
        found = dict(
            con.execute(
                sa.select(Submission.fingerprint, Submission.id).where(
                    Submission.fingerprint.in_(list(batch))
                )
            ).all()
        )
        if not found:
            return times, latest
        times = max(batch[f] for f in found)
        latest = int(found[_nth(base, times)])
        if len(found) < _BATCH:
            return times, latest


def _nth(base: str, n: int) -> str:
    """The fingerprint of the n-th storing of content whose fingerprint is ``base``."""
    return base if n == 1 else hashlib.sha256(f"{base}\n{n}".encode()).hexdigest()


def _content_fingerprint(kind: str, table: pd.DataFrame) -> str:
    digest = hashlib.sha256(kind.encode())
    ordered = table.sort_values(list(KEY), ignore_index=True)
    digest.update(",".join(map(str, ordered.columns)).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _records(table: pd.DataFrame) -> pd.DataFrame:
    """Cells as stored: one column per value, covariates as a JSON object."""
    out = pd.DataFrame(
        {
            "region_id": table["region_id"].astype(str),
            "period": table["period"].dt.date,
            "category": table["category"].astype(str),
        }
    )
    for column in VALUES:
        if column in table.columns:
            values = table[column].astype("float64")
            out[column] = values if column == "effort" else values.astype("Int64")
        else:
            out[column] = pd.array([pd.NA] * len(table), dtype="Float64")
    covs = [c for c in table.columns if str(c).startswith("cov_")]
    if covs:
        lines = table[covs].to_json(orient="records", lines=True).splitlines()
        out["covariates"] = lines
    else:
        out["covariates"] = None
    out["source"] = table["source"] if "source" in table.columns else None
    return out


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    left, right = a.astype(object), b.astype(object)
    both_missing = pd.isna(left) & pd.isna(right)
    equal = pd.Series(
        [
            x == y if not (pd.isna(x) or pd.isna(y)) else False
            for x, y in zip(left, right, strict=True)
        ],
        index=a.index,
        dtype=bool,
    )
    return both_missing | equal
