"""The detection model recovers reporting and detection rates without knowing activity."""

from __future__ import annotations

import numpy as np

from models.detection import DetectionModel
from models.synthetic import generate_panel


def test_recovers_rates_of_a_generated_panel() -> None:
    world = generate_panel(n_regions=36, n_periods=80, countries=3, seed=2)
    panel = world.panel
    country = panel["region_id"].map(world.regions.set_index("region_id")["country"])
    model = DetectionModel().fit(
        panel["reported"], panel["detected"], panel["effort"], country, panel["category"]
    )
    for c, rho in world.reporting_rate.items():
        assert abs(model.reporting_rate_[c] - rho) < 0.05
    for k, kappa in world.kappa.items():
        assert abs(model.kappa_[k] - kappa) / kappa < 0.2


def test_exposure_runs_from_reporting_rate_to_one() -> None:
    model = DetectionModel()
    model.reporting_rate_, model.kappa_ = {"X": 0.3}, {"k": 0.5}
    exposure = model.exposure(np.array([0.0, 2.0, 1e3]), np.array(["X"] * 3), np.array(["k"] * 3))
    np.testing.assert_allclose(exposure, [0.3, 0.3 + 0.7 * (1 - np.exp(-1.0)), 1.0])


def test_no_counts_leaves_the_starting_point() -> None:
    model = DetectionModel().fit(
        np.zeros(3), np.zeros(3), np.ones(3), np.array(["X"] * 3), np.array(["k"] * 3)
    )
    assert model.n_cells_ == 0 and 0 < model.reporting_rate_["X"] < 1
