"""Data contract readers: round trips, and every problem located by file, row and column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from pipelines.contract import load_dataset, read_incidents, read_regions, read_resources, summarize
from pipelines.errors import DataValidationError
from pipelines.simulate import World


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


def test_regions_round_trip(small_world: World, small_world_dir: Path) -> None:
    regions = read_regions(small_world_dir / "regions.geojson")
    pd.testing.assert_frame_equal(
        regions.table[["region_id", "country", "kind", "cov_population"]],
        small_world.regions[["region_id", "country", "kind", "cov_population"]],
        check_dtype=False,
    )
    for read, made in zip(regions.geometries, small_world.geometries, strict=True):
        assert shapely.hausdorff_distance(read, made) < 1e-4
    # neighbours are recomputed from the geometry as written, and agree with the world's
    pd.testing.assert_frame_equal(
        regions.adjacency[["region_id", "neighbour_id", "cross_border"]],
        small_world.adjacency[["region_id", "neighbour_id", "cross_border"]],
    )


def test_resources_round_trip(small_world: World, small_world_dir: Path) -> None:
    regions = read_regions(small_world_dir / "regions.geojson")
    read = read_resources(small_world_dir / "resources.json", regions)
    assert read == small_world.resources  # every unit, agreement, operation and the policy
    assert len(read.units) > 0 and len(read.agreements) > 0 and len(read.joint_operations) > 0


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


def test_load_dataset_and_summary(small_world: World, small_world_dir: Path) -> None:
    ds = load_dataset(small_world_dir)
    summary = summarize(ds)
    assert summary["regions"] == len(small_world.regions)
    assert summary["periods"] == 60
    assert summary["frequency"] == "weekly"
    assert summary["categories"] == sorted(small_world.categories)
    assert summary["cross_border_pairs"] == int(small_world.adjacency["cross_border"].sum() // 2)
    assert 0 < summary["missing_cell_share"] < 0.02
    recent = ds.recent_counts(4)
    inc = small_world.incidents()
    last = inc[inc["period"].isin(sorted(inc["period"].unique())[-4:])]
    expected = (last["reported"] + last["detected"]).groupby(last["region_id"]).sum()
    pd.testing.assert_series_equal(
        recent[expected.index], expected.astype(float), check_names=False
    )


def test_load_dataset_reports_problems_of_every_file(small_world_dir: Path, tmp_path: Path) -> None:
    regions = json.loads((small_world_dir / "regions.geojson").read_text())
    regions["features"][1]["properties"]["country"] = "greece"
    (tmp_path / "regions.geojson").write_text(json.dumps(regions))
    panel = pd.read_parquet(small_world_dir / "incidents.parquet")
    panel.loc[0, "detected"] = -2
    panel.to_parquet(tmp_path / "incidents.parquet", index=False)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tmp_path)
    files = {p.file for p in info.value.problems}
    assert files == {"regions.geojson", "incidents.parquet"}


def test_many_bad_rows_give_a_readable_list(small_world_dir: Path, tmp_path: Path) -> None:
    panel = pd.read_parquet(small_world_dir / "incidents.parquet")
    panel["reported"] = -1
    panel.to_parquet(tmp_path / "incidents.parquet", index=False)
    with pytest.raises(DataValidationError) as info:
        read_incidents(tmp_path / "incidents.parquet")
    problems = info.value.problems
    assert len(problems) == 21  # twenty located rows, then one line for the rest
    assert f"{len(panel) - 20} more rows" in problems[-1].message
