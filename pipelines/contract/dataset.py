"""A data directory: regions, incidents and optionally resources, validated together."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from crossplan.optimize.periods import pandas_freq
from crossplan.optimize.resources import Resources
from crossplan.pipelines.contract.incidents import Incidents, read_incidents
from crossplan.pipelines.contract.regions import Regions, read_regions
from crossplan.pipelines.contract.resources import read_resources
from crossplan.pipelines.errors import DataValidationError, Problem

__all__ = [
    "RECENT_PERIODS",
    "Dataset",
    "find_incidents",
    "input_fingerprint",
    "load_dataset",
    "load_files",
    "observed",
    "read_truth",
    "recent_counts",
    "summarize",
]

_TRUTH_COLUMNS = ("region_id", "period", "category", "activity_rate", "incidents")
# Current practice patrols in proportion to the counts of the last four periods.
RECENT_PERIODS = 4


@dataclass(frozen=True)
class Dataset:
    """Validated inputs of one data directory.

    Attributes
    ----------
    regions
        ``region_id, country, name, kind, lon, lat, area_km2, cov_*``.
    geometries
        Region geometries aligned with ``regions``.
    adjacency
        ``region_id, neighbour_id, cross_border, shared_km`` (both directions).
    incidents
        The long panel, see :class:`pipelines.contract.incidents.Incidents`.
    frequency
        ``"weekly"``, ``"monthly"`` or ``"yearly"``.
    has_effort
        Whether the panel records ``reported``, ``detected`` and ``effort``.
    resources
        The resources (defaults filled in), or ``None``.
    """

    regions: pd.DataFrame
    geometries: list[BaseGeometry]
    adjacency: pd.DataFrame
    incidents: pd.DataFrame
    frequency: str
    has_effort: bool
    resources: Resources | None = None

    @classmethod
    def from_parts(
        cls, regions: Regions, incidents: Incidents, resources: Resources | None = None
    ) -> Dataset:
        return cls(
            regions.table,
            regions.geometries,
            regions.adjacency,
            incidents.table,
            incidents.frequency,
            incidents.has_effort,
            resources,
        )

    @property
    def categories(self) -> list[str]:
        return sorted(self.incidents["category"].unique())

    @property
    def periods(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(np.sort(self.incidents["period"].unique()))

    def observed(self) -> pd.Series:
        """Observed incidents per row: ``reported + detected``, or ``count``."""
        return observed(self.incidents)

    def recent_counts(self, n_periods: int = RECENT_PERIODS) -> pd.Series:
        """:func:`recent_counts` of the panel, every region of the regions file (0 if none)."""
        counts = recent_counts(self.incidents, n_periods)
        return counts.reindex(self.regions["region_id"], fill_value=0).astype("float64")


def observed(panel: pd.DataFrame) -> pd.Series:
    """Observed incidents per row of a panel: ``reported + detected``, or ``count``."""
    if "count" in panel.columns:
        return panel["count"].rename("observed")
    return (panel["reported"] + panel["detected"]).rename("observed")


def recent_counts(panel: pd.DataFrame, n_periods: int = RECENT_PERIODS) -> pd.Series:
    """Observed incidents per region over the panel's last ``n_periods`` periods, all categories.

    This is what current practice (patrolling in proportion to recent counts) plans on.
    """
    last = np.sort(panel["period"].unique())[-n_periods:]
    mask = panel["period"].isin(last)
    return observed(panel)[mask].groupby(panel.loc[mask, "region_id"]).sum().astype("float64")


def find_incidents(data_dir: Path) -> Path:
    """The incidents file of a data directory (Parquet preferred over CSV)."""
    for name in ("incidents.parquet", "incidents.csv"):
        if (data_dir / name).exists():
            return data_dir / name
    raise DataValidationError(
        [
            Problem(
                str(data_dir),
                "no incidents.parquet or incidents.csv in the data directory",
                "put the incidents panel there",
            )
        ]
    )


def input_fingerprint(data_dir: Path) -> str:
    """SHA-256 of the regions, incidents and resources files of a data directory."""
    digest = hashlib.sha256()
    for path in (
        data_dir / "regions.geojson",
        find_incidents(data_dir),
        data_dir / "resources.json",
    ):
        if path.exists():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_dataset(data_dir: Path | str, resources: Path | str | None = None) -> Dataset:
    """Read and validate a data directory.

    Parameters
    ----------
    data_dir
        Holds ``regions.geojson``, ``incidents.parquet`` or ``incidents.csv`` and optionally
        ``resources.json``.
    resources
        A resources file elsewhere; by default ``data_dir/resources.json`` when present.

    Raises
    ------
    DataValidationError
        Every problem of every file.
    """
    data_dir = Path(data_dir)
    resources = None if resources is None else Path(resources)
    if not data_dir.is_dir():
        raise DataValidationError(
            [
                Problem(
                    str(data_dir), "not a directory", "give the directory that holds the data files"
                )
            ]
        )
    resources_path = resources if resources is not None else data_dir / "resources.json"
    has_resources = resources is not None or resources_path.exists()
    return load_files(
        data_dir / "regions.geojson",
        find_incidents(data_dir),
        resources_path if has_resources else None,
    )


def load_files(regions: Path, incidents: Path, resources: Path | None = None) -> Dataset:
    """Read and validate the files of a dataset wherever they are.

    Resources are checked on their own even when the regions file is broken, so every
    problem of every file is reported at once.

    Raises
    ------
    DataValidationError
        Every problem of every file.
    """
    problems: list[Problem] = []
    region_table = _collect(problems, read_regions, regions)
    region_ids = region_table.ids if region_table is not None else None
    panel = _collect(problems, lambda p: read_incidents(p, region_ids), incidents)
    resources_doc = None
    if resources is not None:
        resources_doc = _collect(problems, lambda p: read_resources(p, region_table), resources)
    if problems or region_table is None or panel is None:
        raise DataValidationError(problems)
    return Dataset.from_parts(region_table, panel, resources_doc)


def read_truth(data_dir: Path) -> pd.DataFrame:
    """Ground truth of a synthetic world (``truth.parquet``). Evaluation code only."""
    path = data_dir / "truth.parquet"
    if not path.exists():
        raise DataValidationError(
            [
                Problem(
                    path.name,
                    "no ground truth in this data directory",
                    "scoring against truth needs a simulated world",
                )
            ]
        )
    truth = pd.read_parquet(path)
    missing = [c for c in _TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    path.name,
                    f"missing column(s) {', '.join(missing)}",
                    "regenerate the world with crossplan simulate",
                )
            ]
        )
    truth["period"] = truth["period"].astype("datetime64[ns]")
    return truth


def summarize(ds: Dataset) -> dict[str, Any]:
    """Figures that describe a dataset: sizes, frequency, categories and missing cells.

    Periods are counted from the first to the last at the panel's frequency, so a period
    with no row at all is missing, not absent.
    """
    observed = ds.periods
    periods = pd.date_range(observed[0], observed[-1], freq=pandas_freq(ds.frequency))
    absent = periods.difference(observed)
    cells = len(ds.regions) * len(periods) * len(ds.categories)
    value_cols = ["reported", "detected", "effort"] if ds.has_effort else ["count"]
    present = int(ds.incidents[value_cols].notna().all(axis=1).sum())
    cross_pairs = int(ds.adjacency["cross_border"].sum() // 2)
    summary: dict[str, Any] = {
        "regions": len(ds.regions),
        "countries": sorted(ds.regions["country"].unique()),
        "neighbour_pairs": int(len(ds.adjacency) // 2),
        "cross_border_pairs": cross_pairs,
        "periods": len(periods),
        "first_period": f"{periods[0]:%Y-%m-%d}",
        "last_period": f"{periods[-1]:%Y-%m-%d}",
        "frequency": ds.frequency,
        "categories": ds.categories,
        "effort_recorded": ds.has_effort,
        "covariates": sorted(c for c in ds.incidents.columns if c.startswith("cov_"))
        + sorted(c for c in ds.regions.columns if c.startswith("cov_")),
        "rows": len(ds.incidents),
        "missing_periods": [f"{p:%Y-%m-%d}" for p in absent],
        "missing_cell_share": round(1 - present / cells, 4) if cells else 0.0,
    }
    if ds.resources is not None:
        summary["units"] = len(ds.resources.units)
        summary["agencies"] = len({u.agency for u in ds.resources.units})
        summary["agreements"] = len(ds.resources.agreements)
        summary["joint_operations"] = len(ds.resources.joint_operations)
    return summary


def _collect(problems: list[Problem], reader: Any, path: Path) -> Any:
    try:
        return reader(path)
    except DataValidationError as err:
        problems.extend(err.problems)
        return None
