"""Incidents: Parquet and CSV round trips, count-only panels, missing cells, long problem lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossplan.pipelines.contract import read_incidents, read_regions
from crossplan.pipelines.errors import DataValidationError
from crossplan.pipelines.simulate import World


def test_incidents_round_trip_parquet_and_csv(small_world: World, tmp_path: Path) -> None:
    original = small_world.incidents().sort_values(
        ["region_id", "period", "category"], ignore_index=True
    )
    original.to_parquet(tmp_path / "incidents.parquet", index=False)
    original.to_csv(tmp_path / "incidents.csv", index=False)
    for name in ("incidents.parquet", "incidents.csv"):
        read = read_incidents(tmp_path / name)
        expected = original.astype({"reported": "Int64", "detected": "Int64"})
        pd.testing.assert_frame_equal(
            read.table, expected, check_dtype=False, check_exact=False, rtol=1e-9
        )
        assert read.frequency == "weekly"
        assert read.has_effort


def test_count_only_monthly_and_yearly_panels(small_world_dir: Path, tmp_path: Path) -> None:
    ids = read_regions(small_world_dir / "regions.geojson").ids[:3]
    for freq, dates in (
        ("monthly", pd.date_range("2024-01-01", periods=10, freq="MS")),
        ("yearly", pd.date_range("2015-01-01", periods=10, freq="YS")),
    ):
        panel = pd.DataFrame(
            [(r, d, 3) for r in ids for d in dates], columns=["region_id", "period", "count"]
        )
        panel.to_csv(tmp_path / "incidents.csv", index=False)
        read = read_incidents(tmp_path / "incidents.csv", ids)
        assert read.frequency == freq
        assert not read.has_effort
        assert (read.table["category"] == "all").all()


def test_missing_cells_stay_missing(small_world_dir: Path, tmp_path: Path) -> None:
    panel = pd.read_parquet(small_world_dir / "incidents.parquet")
    panel.loc[3, "reported"] = np.nan
    panel.to_parquet(tmp_path / "incidents.parquet", index=False)
    read = read_incidents(tmp_path / "incidents.parquet")
    assert read.table["reported"].isna().sum() == 1


def test_many_bad_rows_give_a_readable_list(small_world_dir: Path, tmp_path: Path) -> None:
    panel = pd.read_parquet(small_world_dir / "incidents.parquet")
    panel["reported"] = -1
    panel.to_parquet(tmp_path / "incidents.parquet", index=False)
    with pytest.raises(DataValidationError) as info:
        read_incidents(tmp_path / "incidents.parquet")
    problems = info.value.problems
    assert len(problems) == 21  # twenty located rows, then one line for the rest
    assert f"{len(panel) - 20} more rows" in problems[-1].message
