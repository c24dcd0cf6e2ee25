"""Submissions: incident rows and documents stored as new versions, all or nothing.

Every value arrives in a submission (who, which agency and country, when, the content's
fingerprint). A submission stores only the cells it changes: a cell not seen before is
*new*, a cell whose values differ from its latest version is *corrected* (a new version; the
old one stays), and a cell sent again with the same values is *unchanged* and not stored
again. The same content sent twice is recognised and stored once.

Validation is the data contract's (:func:`pipelines.contract.incidents.check_incidents`);
this module adds only what a shared panel needs: the submitter's country, no future
periods, and the panel's frequency and columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.contract import load_dataset
from pipelines.contract._problems import MAX_ROWS_PER_PROBLEM
from pipelines.contract.dataset import find_incidents
from pipelines.contract.frequency import fits_frequency, period_start
from pipelines.contract.incidents import KEY, check_incidents
from pipelines.contract.regions import Regions
from pipelines.database.engine import Database
from pipelines.database.panel import (
    _NO_PANEL,
    NoPanelError,
    _document,
    _frame,
    _regions,
    iso,
    utcnow,
)
from pipelines.database.schema import CellVersion, Document, Submission
from pipelines.errors import DataValidationError, Problem

__all__ = ["SubmissionResult", "Submitter", "import_directory", "submit_incidents"]

_VALUES = ("reported", "detected", "effort", "count")


@dataclass(frozen=True)
class Submitter:
    """Who sends a submission.

    Attributes
    ----------
    country
        The only country whose regions it may send; ``None`` for the operator's imports.
    """

    key_name: str
    agency: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class SubmissionResult:
    """What a submission did: counts of cells new, corrected and unchanged."""

    submission_id: int
    received_at: str
    fingerprint: str
    file: str
    rows: int
    new: int
    corrected: int
    unchanged: int
    duplicate: bool
    periods: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def submit_incidents(
    db: Database,
    raw: pd.DataFrame,
    *,
    file: str,
    row_of: Callable[[int], int | str],
    submitter: Submitter,
    now: Callable[[], datetime] = utcnow,
) -> SubmissionResult:
    """Validate and store incident rows, all or nothing.

    Parameters
    ----------
    raw
        The rows as read (CSV text, Parquet, or JSON rows), in the order the user sent them.
    file, row_of
        Where problems are located: the file's name, and each row's place in it.
    submitter
        The key, agency and country it is sent for.

    Raises
    ------
    DataValidationError
        Every problem: the contract's, and rows of another country's regions, future periods,
        a frequency or value columns other than the panel's. Nothing is stored.
    ConfigurationError
        The database has no regions yet.
    """
    current = _current_shape(db)
    if current is None:
        raise NoPanelError(_NO_PANEL)
    regions, frequency, has_effort = current
    problems = _ownership_problems(raw, file, row_of, regions, submitter, frequency, now())
    try:
        incidents = check_incidents(raw, file, row_of, regions.ids)
    except DataValidationError as err:
        raise DataValidationError(err.problems + problems) from None
    if incidents.has_effort != has_effort:
        wanted = "reported, detected and effort" if has_effort else "a single count"
        problems.append(
            Problem(
                file,
                f"the shared panel records {wanted}, this file does not",
                f"send {wanted} columns, as the panel does",
                None,
                "count" if has_effort else "reported",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return _store(db, "incidents", incidents.table, file, submitter, now)


def _capped(problems: list[Problem], what: str) -> list[Problem]:
    """At most :data:`MAX_ROWS_PER_PROBLEM` rows of one problem, then a count of the rest."""
    if len(problems) <= MAX_ROWS_PER_PROBLEM:
        return problems
    first = problems[0]
    more = len(problems) - MAX_ROWS_PER_PROBLEM
    rest = Problem(first.file, f"{more} more rows {what}", first.fix, None, first.column)
    return [*problems[:MAX_ROWS_PER_PROBLEM], rest]


def import_directory(
    db: Database, data_dir: Path, submitter: Submitter, now: Callable[[], datetime] = utcnow
) -> list[SubmissionResult]:
    """Load a data directory (validated whole) as submissions: regions, resources, incidents.

    A file whose content is already stored is recognised and not stored again.
    """
    dataset = load_dataset(data_dir)  # every problem of every file, before anything is stored
    results = [_store_document(db, "regions", data_dir / "regions.geojson", submitter, now)]
    if (data_dir / "resources.json").exists():
        results.append(
            _store_document(db, "resources", data_dir / "resources.json", submitter, now)
        )
    incidents = find_incidents(data_dir)
    results.append(_store(db, "incidents", dataset.incidents, incidents.name, submitter, now))
    return results


def _current_shape(db: Database) -> tuple[Regions, str, bool] | None:
    """The current regions, and the panel's frequency and whether it records effort."""
    moment = utcnow() + timedelta(days=1)
    with db.read() as con:
        doc = _document(con, "regions", moment)
        if doc is None:
            return None
        sample = con.execute(
            sa.select(CellVersion.period, CellVersion.count).order_by(CellVersion.id).limit(1)
        ).first()
    regions = _regions(*doc)
    if sample is None:
        return None
    periods = _periods(db)
    frequency = _frequency_of(periods)
    return regions, frequency, sample.count is None


def _periods(db: Database) -> pd.Series:
    """A few distinct periods of the panel (enough to tell its frequency)."""
    with db.read() as con:
        rows = con.execute(
            sa.select(CellVersion.period).distinct().order_by(CellVersion.period).limit(60)
        ).scalars()
        return pd.Series(pd.to_datetime(list(rows))).astype("datetime64[ns]")


def _frequency_of(periods: pd.Series) -> str:
    if len(periods) > 1:
        gap = periods.diff().dropna().min()
        if gap >= pd.Timedelta(days=365):
            return "yearly"
        if gap >= pd.Timedelta(days=28):
            return "monthly"
        return "weekly"
    for freq in ("yearly", "monthly"):
        if fits_frequency(periods, freq).all():
            return freq
    return "weekly"


def _ownership_problems(
    raw: pd.DataFrame,
    file: str,
    row_of: Callable[[int], int | str],
    regions: Regions,
    submitter: Submitter,
    frequency: str,
    now: datetime,
) -> list[Problem]:
    """Rows for another country's regions, future periods, periods off the panel's frequency."""
    foreign: list[Problem] = []
    future: list[Problem] = []
    misfits: list[Problem] = []
    frame = raw.reset_index(drop=True)
    if submitter.country is not None and "region_id" in frame.columns:
        country_of = dict(zip(regions.table["region_id"], regions.table["country"], strict=True))
        ids = frame["region_id"].astype("string").str.strip()
        for i, rid in ids.items():
            country = country_of.get(str(rid)) if pd.notna(rid) else None
            if country is not None and country != submitter.country:
                foreign.append(
                    Problem(
                        file,
                        f"region '{rid}' is in {country}: a key of {submitter.country} "
                        f"submits {submitter.country}'s regions only",
                        f"remove the row; {country}'s agencies submit their own data",
                        row_of(int(i)),
                        "region_id",
                    )
                )
    if "period" in frame.columns:
        period = frame["period"]
        if not pd.api.types.is_datetime64_any_dtype(period):
            period = pd.to_datetime(period.astype("string"), errors="coerce", format="ISO8601")
        period = period.astype("datetime64[ns]")
        current = period_start(pd.Timestamp(now), frequency)
        for i, value in period[period > current].items():
            future.append(
                Problem(
                    file,
                    f"period {value:%Y-%m-%d} is in the future (the current {frequency} "
                    f"period starts {current:%Y-%m-%d})",
                    "send periods that have started; correct the date if it is a typo",
                    row_of(int(i)),
                    "period",
                )
            )
        known = period.notna()
        misfit = known & ~fits_frequency(period.where(known, current), frequency)
        for i, value in period[misfit].items():
            misfits.append(
                Problem(
                    file,
                    f"period {value:%Y-%m-%d} does not start a {frequency} period of the panel",
                    "date each row by the start of its period, as the shared panel does",
                    row_of(int(i)),
                    "period",
                )
            )
    return (
        _capped(foreign, "for another country's regions")
        + _capped(future, "in the future")
        + _capped(misfits, "off the panel's periods")
    )


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
    for column in _VALUES:
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


def _store(
    db: Database,
    kind: str,
    table: pd.DataFrame,
    file: str,
    submitter: Submitter,
    now: Callable[[], datetime],
) -> SubmissionResult:
    fingerprint = _content_fingerprint(kind, table)
    records = _records(table)
    periods = sorted({p.isoformat() for p in records["period"].unique()})
    with db.write("submissions") as con:
        earlier = _earlier(con, fingerprint, file, periods)
        if earlier is not None:
            return earlier
        received = _receipt_time(con, now)
        stored = _latest_for(con, records["period"].unique())
        merged = records.merge(stored, on=list(KEY), how="left", suffixes=("", "_old"))
        new = merged["_known"].isna().to_numpy()
        same = np.ones(len(merged), dtype=bool)
        for column in (*_VALUES, "covariates", "source"):
            same &= _same(merged[column], merged[f"{column}_old"]).to_numpy()
        changed = ~new & ~same
        submission_id = _insert_submission(
            con,
            fingerprint=fingerprint,
            kind=kind,
            received_at=received,
            submitter=submitter,
            file=file,
            rows=len(table),
            counts=(int(new.sum()), int(changed.sum()), int((~new & same).sum())),
        )
        keep = records[new | changed].assign(submission_id=submission_id)
        rows = [
            {k: (None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v)
             for k, v in row.items()}
            for row in keep.astype(object).to_dict("records")
        ]  # fmt: skip
        if rows:
            con.execute(sa.insert(CellVersion), rows)
    return SubmissionResult(
        submission_id,
        str(iso(received)),
        fingerprint,
        file,
        len(table),
        int(new.sum()),
        int(changed.sum()),
        int((~new & same).sum()),
        False,
        periods,
    )


def _store_document(
    db: Database, kind: str, path: Path, submitter: Submitter, now: Callable[[], datetime]
) -> SubmissionResult:
    content = path.read_text(encoding="utf-8")
    fingerprint = hashlib.sha256(kind.encode() + content.encode()).hexdigest()
    with db.write("submissions") as con:
        earlier = _earlier(con, fingerprint, path.name, [])
        if earlier is not None:
            return earlier
        received = _receipt_time(con, now)
        submission_id = _insert_submission(
            con,
            fingerprint=fingerprint,
            kind=kind,
            received_at=received,
            submitter=submitter,
            file=path.name,
            rows=0,
            counts=(0, 0, 0),
        )
        con.execute(
            sa.insert(Document).values(submission_id=submission_id, name=path.name, content=content)
        )
    return SubmissionResult(
        submission_id, str(iso(received)), fingerprint, path.name, 0, 0, 0, 0, False, []
    )


def _earlier(
    con: Connection, fingerprint: str, file: str, periods: list[str]
) -> SubmissionResult | None:
    """The stored submission of the same content, if there is one (sending again is a no-op)."""
    found = con.execute(
        sa.select(Submission.id, Submission.received_at, Submission.rows).where(
            Submission.fingerprint == fingerprint
        )
    ).first()
    if found is None:
        return None
    return SubmissionResult(
        found.id, str(iso(found.received_at)), fingerprint, file, found.rows, 0, 0, found.rows,
        True, periods,
    )  # fmt: skip


def _receipt_time(con: Connection, now: Callable[[], datetime]) -> datetime:
    """Now, but after every earlier receipt (the write lock is held, so times only grow)."""
    last = con.execute(sa.select(sa.func.max(Submission.received_at))).scalar()
    moment = now()
    if last is not None and moment <= last:
        moment = last + timedelta(microseconds=1)
    return moment


def _latest_for(con: Connection, periods: Any) -> pd.DataFrame:
    """The latest stored version of every cell of ``periods``."""
    days = [pd.Timestamp(p).date() for p in periods]
    frames = []
    for start in range(0, len(days), 500):
        result = con.execute(
            sa.select(
                CellVersion.region_id,
                CellVersion.period,
                CellVersion.category,
                *(getattr(CellVersion, c) for c in _VALUES),
                CellVersion.covariates,
                CellVersion.source,
            )
            .where(CellVersion.period.in_(days[start : start + 500]))
            .order_by(CellVersion.id)
        )
        frames.append(_frame(result))
    stored = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    columns = [*KEY, *_VALUES, "covariates", "source"]
    if stored.empty:
        stored = pd.DataFrame(columns=columns)
    stored = stored.drop_duplicates(list(KEY), keep="last")
    stored["period"] = [pd.Timestamp(p).date() for p in stored["period"]]
    renamed = stored.rename(columns={c: f"{c}_old" for c in columns if c not in KEY})
    return renamed.assign(_known=True)


def _insert_submission(
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
    result = con.execute(
        sa.insert(Submission)
        .values(
            fingerprint=fingerprint,
            kind=kind,
            received_at=received_at,
            key_name=submitter.key_name,
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
