"""Panel versions: the panel as of any time, rebuilt from the stored cell versions, and export.

The panel as of time T is, for every cell, its latest version received up to T
(:mod:`pipelines.database.submissions` stores them); the current panel is the panel as of
the latest submission. Its fingerprint hashes that as-of time and the panel's content, so a
plan's inputs can be rebuilt and checked exactly.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.contract import Dataset
from pipelines.contract.incidents import KEY, Incidents, check_incidents
from pipelines.contract.regions import Regions, read_regions
from pipelines.contract.resources import validate_resources
from pipelines.database.engine import Database
from pipelines.database.schema import CellVersion, Document, Submission
from pipelines.errors import ConfigurationError

__all__ = [
    "NoPanelError",
    "PanelVersion",
    "export_panel",
    "iso",
    "latest_submission",
    "load_panel",
    "panel_fingerprint",
    "utcnow",
]

_VALUES = ("reported", "detected", "effort", "count")
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
    ConfigurationError
        No regions or no incidents were received up to ``as_of``.
    """
    moment = as_of or utcnow()
    with db.read() as con:
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
        regions_doc = _document(con, "regions", moment)
        resources_doc = _document(con, "resources", moment)
        if regions_doc is None:
            raise NoPanelError(_NO_PANEL)
        cells = _cells_as_of(con, moment)
    if cells.empty:
        raise NoPanelError(_NO_PANEL)
    regions = _regions(*regions_doc)
    resources = None
    if resources_doc is not None:
        resources = validate_resources(json.loads(resources_doc[1]), regions, "resources.json")
    incidents = _incidents(cells, regions)
    dataset = Dataset.from_parts(regions, incidents, resources)
    as_of_time: datetime = last.received_at
    fingerprint = panel_fingerprint(
        as_of_time,
        incidents.table,
        regions_doc[0],
        None if resources_doc is None else resources_doc[0],
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
    return PanelVersion(dataset, as_of_time, fingerprint, int(last.id), provenance)


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


def _document(con: Connection, kind: str, moment: datetime) -> tuple[str, str] | None:
    """(fingerprint, content) of the latest document of ``kind`` received up to ``moment``."""
    row = con.execute(
        sa.select(Submission.fingerprint, Document.content)
        .join(Document, Document.submission_id == Submission.id)
        .where(Submission.kind == kind, Submission.received_at <= moment)
        .order_by(Submission.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def _cells_as_of(con: Connection, moment: datetime) -> pd.DataFrame:
    """The latest version of every cell received up to ``moment``, with its submission."""
    query = (
        sa.select(
            CellVersion.region_id,
            CellVersion.period,
            CellVersion.category,
            CellVersion.reported,
            CellVersion.detected,
            CellVersion.effort,
            CellVersion.count,
            CellVersion.covariates,
            CellVersion.source,
            Submission.agency,
            Submission.key_name,
            Submission.id.label("submission_id"),
            Submission.received_at,
        )
        .join(Submission, Submission.id == CellVersion.submission_id)
        .where(Submission.received_at <= moment)
        .order_by(CellVersion.id)
    )
    frame = _frame(con.execute(query))
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    return frame.drop_duplicates(list(KEY), keep="last").reset_index(drop=True)


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
    if cells["source"].notna().any():
        raw["source"] = cells["source"].astype(object)
    return check_incidents(raw, "database", lambda i: i + 1, regions.ids)


def export_panel(db: Database, out: Path, as_of: datetime | None = None) -> PanelVersion:
    """Write the panel as of ``as_of`` as a data directory of the contract."""
    panel = load_panel(db, as_of)
    out.mkdir(parents=True, exist_ok=True)
    with db.read() as con:
        for kind, name in (("regions", "regions.geojson"), ("resources", "resources.json")):
            doc = _document(con, kind, panel.as_of)
            if doc is not None:
                (out / name).write_text(doc[1], encoding="utf-8")
    panel.dataset.incidents.to_parquet(out / "incidents.parquet", index=False)
    return panel
