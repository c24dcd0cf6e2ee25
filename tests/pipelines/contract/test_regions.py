"""Regions: a GeoJSON round trip, neighbours recomputed from the geometry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import shapely

from crossplan.pipelines.contract import read_regions
from crossplan.pipelines.simulate import World


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
