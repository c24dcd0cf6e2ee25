"""Resources: a round trip of the synthetic world's units, agreements and operations."""

from __future__ import annotations

from pathlib import Path

from crossplan.pipelines.contract import read_regions, read_resources
from crossplan.pipelines.simulate import World


def test_resources_round_trip(small_world: World, small_world_dir: Path) -> None:
    regions = read_regions(small_world_dir / "regions.geojson")
    read = read_resources(small_world_dir / "resources.json", regions)
    assert read == small_world.resources  # every unit, agreement, operation and the policy
    assert len(read.units) > 0 and len(read.agreements) > 0 and len(read.joint_operations) > 0
