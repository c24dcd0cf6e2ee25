"""Panel versions: the panel as of any time, rebuilt from the stored cell versions, and export.

The panel as of time T is, for every cell, its latest version received up to T
(:mod:`pipelines.database.submissions` stores them); the current panel is the panel as of
the latest submission. Its fingerprint hashes that as-of time and the panel's content, so a
plan's inputs can be rebuilt and checked exactly.

A cell is *withdrawn* by a version whose values are all empty in a ``revert`` submission
(:mod:`pipelines.database.revert`): the tables stay append-only, and the panel leaves the
cell out from then on.

The built panel is validated by the data contract again. When it fails, the error is a
:class:`~pipelines.errors.PanelBuildError` naming the newest submission involved, so that a
service can keep serving its last good panel and an operator knows what to revert.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.contract.incidents import KEY, Incidents, check_incidents
from crossplan.pipelines.contract.regions import Regions, read_regions
from crossplan.pipelines.contract.resources import validate_resources
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.schema import CellVersion, Document, Submission
from crossplan.pipelines.errors import (
    ConfigurationError,
    DataValidationError,
    PanelBuildError,
    Problem,
)

__all__ = [
    "VALUES",
    "WITHDRAWN_KIND",
    "NoPanelError",
    "PanelVersion",
    "build_panel",
    "export_panel",
    "iso",
    "last_good_panel",
    "latest_submission",
    "load_panel",
    "panel_fingerprint",
    "select_versions",
    "utcnow",
    "withdrawn",
]

#: The value columns of a cell version (besides covariates and source).
VALUES = ("reported", "detected", "effort", "count")
#: Kind of the submissions that may withdraw cells (with versions whose values are all empty).
WITHDRAWN_KIND = "revert"
_NO_PANEL = "the database holds no panel yet — fix: load one with `crossplan import --data DIR`"


class NoPanelError(ConfigurationError):
    """The database holds no panel (yet, or as of the time asked)."""


def utcnow() -> datetime:
    """Now, as the database stores times: naive UTC with microseconds."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 with its UTC offset."""
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()


@dataclass(frozen=True, eq=False)
class PanelVersion:
    """The panel as of a time, with its fingerprint and where every cell came from.

    Attributes
    ----------
    as_of
        Receipt time of the latest submission it contains.
    last_submission
        Id of that submission.
    provenance
        ``region_id, period, category, agency, key_name, submission_id, received_at`` of the
        version of each cell in the panel.
    """

    dataset: Dataset
    as_of: datetime
    fingerprint: str
    last_submission: int
    provenance: pd.DataFrame

    @property
    def as_of_iso(self) -> str:
        return str(iso(self.as_of))


def latest_submission(db: Database) -> int:
    """Id of the latest submission (0 when there is none): a panel changes when this does."""
    with db.read() as con:
        found = con.execute(sa.select(sa.func.max(Submission.id))).scalar()
    return int(found or 0)


def load_panel(db: Database, as_of: datetime | None = None) -> PanelVersion:
    """The panel as of ``as_of`` (default: now), rebuilt from the stored versions.

    Raises
    ------
    NoPanelError
        No regions or no incidents were received up to ``as_of``.
    PanelBuildError
        The stored documents and cells do not make a panel of the data contract; it names
        the newest submission involved, and a time before it (``before``).
    """
    with db.read() as con:
        stored = _stored(con, as_of)
    try:
        return _assemble(stored)
    except DataValidationError as err:
        with db.read() as con:
            raise _unbuildable(con, err.problems, stored) from None


def last_good_panel(
    db: Database, as_of: datetime | None = None, *, attempts: int = 10
) -> tuple[PanelVersion, PanelBuildError | None]:
    """The panel as of ``as_of``, or else the latest one before it that builds.

    Each step back leaves out the newest submission a :class:`PanelBuildError` names, and
    everything received after it.

    Returns
    -------
    panel : PanelVersion
        The panel as of ``as_of``, or the latest one before it that builds.
    error : PanelBuildError or None
        Why the panel as of ``as_of`` does not build (``None`` when it does).

    Raises
    ------
    PanelBuildError
        No panel built within ``attempts`` steps back (the first error).
    NoPanelError
        None was received before the first submission that breaks it.
    """
    first: PanelBuildError | None = None
    moment = as_of
    for _ in range(attempts):
        try:
            return load_panel(db, moment), first
        except PanelBuildError as err:
            first = first or err
            moment = err.before
    assert first is not None
    raise first


def build_panel(con: Connection, as_of: datetime | None = None) -> PanelVersion:
    """:func:`load_panel` on an open connection (which may hold uncommitted writes)."""
    stored = _stored(con, as_of)
    try:
        return _assemble(stored)
    except DataValidationError as err:
        raise _unbuildable(con, err.problems, stored) from None


class _Document(NamedTuple):
    fingerprint: str
    content: str
    submission_id: int


@dataclass(frozen=True)
class _Stored:
    """What a panel is built from: its latest submission, documents and current cells."""

    last_id: int
    as_of: datetime
    regions: _Document
    resources: _Document | None
    cells: pd.DataFrame


def _stored(con: Connection, as_of: datetime | None) -> _Stored:
    moment = as_of or utcnow()
    last = con.execute(
        sa.select(Submission.id, Submission.received_at)
        .where(Submission.received_at <= moment)
        .order_by(Submission.id.desc())
        .limit(1)
    ).first()
    if last is None:
        raise NoPanelError(
            _NO_PANEL if as_of is None else f"nothing was received up to {iso(as_of)}"
        )
    regions = _document(con, "regions", moment)
    resources = _document(con, "resources", moment)
    if regions is None:
        raise NoPanelError(_NO_PANEL)
    cells = _cells_as_of(con, moment)
    if cells.empty:
        raise NoPanelError(_NO_PANEL)
    return _Stored(int(last.id), last.received_at, regions, resources, cells)


def _assemble(stored: _Stored) -> PanelVersion:
    """The panel of what is stored, validated by the contract (raises its problems)."""
    regions = _regions(stored.regions.fingerprint, stored.regions.content)
    resources = None
    if stored.resources is not None:
        resources = validate_resources(
            json.loads(stored.resources.content), regions, "resources.json"
        )
    cells = stored.cells
    incidents = _incidents(cells, regions)
    dataset = Dataset.from_parts(regions, incidents, resources)
    fingerprint = panel_fingerprint(
        stored.as_of,
        incidents.table,
        stored.regions.fingerprint,
        None if stored.resources is None else stored.resources.fingerprint,
    )
    provenance = cells[[*KEY, "agency", "key_name", "submission_id", "received_at"]].assign(
        period=pd.to_datetime(cells["period"]).astype("datetime64[ns]")
    )
    # In the panel's order, so that a mask over one is a mask over the other.
    provenance = (
        incidents.table[list(KEY)]
        .merge(provenance, on=list(KEY), how="left")
        .reset_index(drop=True)
    )
    return PanelVersion(dataset, stored.as_of, fingerprint, stored.last_id, provenance)


def panel_fingerprint(
    as_of: datetime, table: pd.DataFrame, regions: str, resources: str | None
) -> str:
    """SHA-256 of a panel: its as-of time, its cells (values and order) and its documents."""
    digest = hashlib.sha256()
    digest.update(str(iso(as_of)).encode())
    digest.update(regions.encode())
    digest.update((resources or "").encode())
    digest.update(",".join(map(str, table.columns)).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _document(con: Connection, kind: str, moment: datetime) -> _Document | None:
    """The latest document of ``kind`` received up to ``moment``."""
    row = con.execute(
        sa.select(Submission.fingerprint, Document.content, Submission.id)
        .join(Document, Document.submission_id == Submission.id)
        .where(Submission.kind == kind, Submission.received_at <= moment)
        .order_by(Submission.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _Document(row[0], row[1], int(row[2]))


def withdrawn(cells: pd.DataFrame) -> pd.Series:
    """Which cell versions withdraw their cell: every value empty, in a ``revert`` submission.

    ``cells`` has the value columns, ``covariates`` and ``kind`` (the submission's).
    """
    empty = cells["covariates"].isna()
    for column in VALUES:
        empty &= cells[column].isna()
    return (cells["kind"] == WITHDRAWN_KIND) & empty


def select_versions(*more: Any) -> sa.Select[Any]:
    """Cell versions with their key, values, covariates, source and their submission's kind
    (and ``more`` columns), oldest first: every reader of the versions starts here."""
    return (
        sa.select(
            CellVersion.region_id,
            CellVersion.period,
            CellVersion.category,
            *(getattr(CellVersion, c) for c in VALUES),
            CellVersion.covariates,
            CellVersion.source,
            Submission.kind,
            *more,
        )
        .join(Submission, Submission.id == CellVersion.submission_id)
        .order_by(CellVersion.id)
    )


def _cells_as_of(con: Connection, moment: datetime) -> pd.DataFrame:
    """The latest version of every cell received up to ``moment``, with its submission."""
    query = select_versions(
        Submission.agency,
        Submission.key_name,
        Submission.id.label("submission_id"),
        Submission.received_at,
    ).where(Submission.received_at <= moment)
    frame = _frame(con.execute(query))
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    latest = frame.drop_duplicates(list(KEY), keep="last")
    return latest[~withdrawn(latest)].reset_index(drop=True)


def _frame(result: sa.CursorResult[Any]) -> pd.DataFrame:
    """A query's rows as a frame, fetched from the driver's cursor.

    Millions of rows: SQLAlchemy's row objects cost more than the query. Dates then come as
    the driver gives them (text on SQLite), which the callers parse.
    """
    columns = list(result.keys())
    return pd.DataFrame(result.cursor.fetchall(), columns=columns)


_REGIONS_CACHE: OrderedDict[str, Regions] = OrderedDict()


def _regions(fingerprint: str, content: str) -> Regions:
    """The regions of a stored document (parsed once per process: adjacency takes time)."""
    cached = _REGIONS_CACHE.get(fingerprint)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory(prefix="crossplan-regions-") as tmp:
        path = Path(tmp) / "regions.geojson"
        path.write_text(content, encoding="utf-8")
        regions = read_regions(path)
    _REGIONS_CACHE[fingerprint] = regions
    while len(_REGIONS_CACHE) > 4:
        _REGIONS_CACHE.popitem(last=False)
    return regions


def _incidents(cells: pd.DataFrame, regions: Regions) -> Incidents:
    """The stored cells as the contract's panel (validated again: the same types every time)."""
    raw = pd.DataFrame(
        {
            "region_id": cells["region_id"].astype(object),
            "period": pd.to_datetime(cells["period"]).astype("datetime64[ns]"),
            "category": cells["category"].astype(object),
        }
    )
    count_panel = cells["count"].notna().any()
    for column in ("count",) if count_panel else ("reported", "detected", "effort"):
        raw[column] = pd.to_numeric(cells[column]).astype("float64")
    covariates = cells["covariates"]
    if covariates.notna().any():
        lines = "\n".join(covariates.fillna("{}"))
        raw = pd.concat([raw, pd.read_json(io.StringIO(lines), lines=True, dtype=False)], axis=1)
    source = cells["source"]
    if source.notna().any() and not source.notna().all():
        # Cells stored before submissions carried their agency as the source: the
        # submission's agency stands in. A column still partial (the operator's cells have
        # no agency) would break the contract, so then the panel has none; the provenance
        # keeps every cell's agency either way.
        source = source.fillna(cells["agency"])
    if source.notna().all():
        raw["source"] = source.astype(object)
    return check_incidents(raw, "database", lambda i: i + 1, regions.ids)


def _unbuildable(con: Connection, problems: list[Problem], stored: _Stored) -> PanelBuildError:
    """The error of a panel that does not build, naming the newest submission involved."""
    cells, regions, resources = stored.cells, stored.regions, stored.resources
    involved: set[int] = set()
    for p in problems:
        if p.file == "database" and isinstance(p.row, int) and 0 < p.row <= len(cells):
            involved.add(int(cells["submission_id"].iloc[p.row - 1]))
        if (p.file == "database" and p.column == "region_id") or p.file.endswith(".geojson"):
            involved.add(regions.submission_id)
        if p.file == "resources.json" and resources is not None:
            involved.update((regions.submission_id, resources.submission_id))
    newest = max(involved) if involved else int(cells["submission_id"].max())
    row = con.execute(
        sa.select(
            Submission.kind,
            Submission.file_name,
            Submission.agency,
            Submission.key_name,
            Submission.received_at,
        ).where(Submission.id == newest)
    ).one()
    n = len(problems)
    first = "; ".join(p.message for p in problems[:3]) + ("; …" if n > 3 else "")
    message = (
        f"the shared panel cannot be built from the database ({n} problem{'s' if n != 1 else ''}"
        f": {first}); the newest submission involved is {newest} ({row.kind} "
        f"'{row.file_name}' from {row.agency or row.key_name}, received {iso(row.received_at)})"
        f" — fix: revert it (`crossplan submissions revert {newest} --reason TEXT`), or submit"
        " a correction of those cells"
    )
    before = row.received_at - timedelta(microseconds=1)
    return PanelBuildError(message, submission_id=newest, problems=problems, before=before)


def export_panel(db: Database, out: Path, as_of: datetime | None = None) -> PanelVersion:
    """Write the panel as of ``as_of`` as a data directory of the contract."""
    panel = load_panel(db, as_of)
    out.mkdir(parents=True, exist_ok=True)
    with db.read() as con:
        for kind, name in (("regions", "regions.geojson"), ("resources", "resources.json")):
            doc = _document(con, kind, panel.as_of)
            if doc is not None:
                (out / name).write_text(doc.content, encoding="utf-8")
    panel.dataset.incidents.to_parquet(out / "incidents.parquet", index=False)
    return panel
