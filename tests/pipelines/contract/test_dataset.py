"""A data directory: loaded together, summarised, every file's problems reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from crossplan.pipelines.contract import load_dataset, summarize
from crossplan.pipelines.errors import DataValidationError
from crossplan.pipelines.simulate import World


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
