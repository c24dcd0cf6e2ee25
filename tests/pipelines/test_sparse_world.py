"""A sparse world where patrols follow last periods' counts: a first training crowns a champion."""

from __future__ import annotations

from pathlib import Path

from crossplan.models import RiskForecaster
from crossplan.pipelines import registry, tracking
from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.sparse_world import sparse_world
from crossplan.pipelines.train import train


def test_the_world_is_sparse_and_patrols_follow_past_counts(tmp_path: Path) -> None:
    world = sparse_world(rings=5, sectors=6, periods=60, seed=3)
    ds = load_dataset(world.write(tmp_path / "world"))
    assert ds.has_effort and len(ds.regions) == 30 and ds.frequency == "weekly"
    panel = world.incidents.assign(
        observed=world.incidents["reported"] + world.incidents["detected"]
    )
    assert 0.15 <= panel["observed"].mean() <= 0.45 and (panel["observed"] == 0).mean() > 0.7
    assert all(0.08 <= r <= 0.45 for r in world.reporting_rate.values())
    # Effort in a week follows the counts of the two weeks before it.
    wide = panel.pivot(index="period", columns="region_id", values=["observed", "effort"])
    lagged = wide["observed"].shift(1) + wide["observed"].shift(2)
    assert lagged.stack().corr(wide["effort"].stack()) > 0.5
    # The detection model sees it in every country, and corrects past counts between cells
    # only by the spread those counts do not predict.
    forecaster = RiskForecaster(horizon=2, n_estimators=5, calibration_periods=0)
    correction = forecaster.fit(ds.incidents, ds.regions).detection_.correction()
    assert set(correction["follows_counts"]) == set(world.reporting_rate)
    assert all(r2 > 0.5 for r2 in correction["follows_counts"].values())
    assert all(k < 0.75 for k in correction["kept_between_cells"].values())
    again = sparse_world(rings=5, sectors=6, periods=60, seed=3)
    assert again.incidents.equals(world.incidents)  # seeded


def test_a_first_training_on_a_sparse_world_promotes_a_calibrated_champion(
    tmp_path: Path, crossplan_home: Path
) -> None:
    data = sparse_world(rings=6, sectors=6, periods=80, seed=1).write(tmp_path / "world")
    result = train(data, horizon=2, origins=4, refit_every=4)
    assert result.decision.promote
    client = tracking.connect()
    assert str(registry.champion_version(client).version) == result.version
    chosen = result.selection.scores[result.selection.candidate]
    assert 0.75 <= chosen["pit_coverage80"] <= 0.85
    assert chosen["coverage80"] > chosen["pit_coverage80"]  # plainly, sparse counts over-cover
