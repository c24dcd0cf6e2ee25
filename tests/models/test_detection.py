"""The detection model recovers reporting and detection rates without knowing activity."""

from __future__ import annotations

import numpy as np

from crossplan.models import RiskForecaster
from crossplan.models.detection import DetectionModel
from crossplan.models.synthetic import generate_panel


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


def _thinned(effort_scale: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Cells drawn from the observation model with rho = 0.3, kappa = 0.4."""
    rng = np.random.default_rng(seed)
    n = 4000
    effort = rng.uniform(0, 1, n) * effort_scale
    lam = rng.uniform(2, 20, n)
    g = 1 - np.exp(-0.4 * effort)
    return {
        "reported": rng.poisson(lam * 0.3).astype(float),
        "detected": rng.poisson(lam * 0.7 * g).astype(float),
        "effort": effort,
        "country": np.array(["X"] * n),
        "category": np.array(["k"] * n),
    }


def _width(model: DetectionModel, kind: str, key: str) -> float:
    lo, hi = model.intervals_[kind][key]
    return hi - lo


def test_bootstrap_intervals_widen_when_effort_is_low_everywhere() -> None:
    high = DetectionModel(n_bootstrap=30).fit(**_thinned(10.0))
    low = DetectionModel(n_bootstrap=30).fit(**_thinned(1.0))
    lo, hi = high.intervals_["kappa"]["k"]
    assert lo <= high.kappa_["k"] <= hi and lo < 0.4 < hi
    # kappa * effort well below 1: the split identifies kappa badly, and the interval says so
    assert _width(low, "kappa", "k") > 4 * _width(high, "kappa", "k")
    assert _width(low, "reporting_rate", "X") > 4 * _width(high, "reporting_rate", "X")
    summary = low.to_dict()["intervals90"]
    assert set(summary) == {"kappa", "reporting_rate"} and len(summary["kappa"]["k"]) == 2
    assert high.to_dict()["not_identified"] == []


def test_rates_driven_to_a_bound_are_flagged_not_identified() -> None:
    # kappa * effort ~ 0.01: the optimum degenerates to both rates near zero
    model = DetectionModel().fit(**_thinned(0.05))
    assert model.to_dict()["not_identified"] == ["reporting_rate[X]", "kappa[k]"]


def test_no_bootstrap_reports_no_intervals() -> None:
    assert DetectionModel().fit(**_thinned(1.0)).to_dict()["intervals90"] == {}


def _share(model: DetectionModel, cells: dict[str, np.ndarray]) -> float:
    return float(model.shrinkage(cells["effort"], cells["country"], cells["category"]).mean())


def test_the_correction_steps_back_as_its_uncertainty_grows() -> None:
    identified, weak, flat = _thinned(10.0), _thinned(1.0), _thinned(0.05)
    high, low = DetectionModel().fit(**identified), DetectionModel().fit(**weak)
    degenerate = DetectionModel().fit(**flat)
    # Identified: the correction is applied almost whole.
    cells = (identified["effort"], identified["country"], identified["category"])
    raw, shrunk = high.exposure(*cells, shrink=False), high.exposure(*cells)
    assert _share(high, identified) > 0.95
    assert np.median(np.log(shrunk) / np.log(raw)) > 0.95
    # Less identified: less of it; rates on a bound: the common level is not applied at
    # all, so the typical cell's exposure is 1 and activity is on the counts' scale.
    assert _share(low, weak) < _share(high, identified)
    assert _share(degenerate, flat) < 0.01
    flat_cells = (flat["effort"], flat["country"], flat["category"])
    assert abs(np.mean(np.log(degenerate.exposure(*flat_cells)))) < 0.01
    assert np.mean(np.log(degenerate.exposure(*flat_cells, shrink=False))) < -3
    # Unknown countries and categories get no correction.
    assert degenerate.shrinkage(np.ones(1), np.array(["Z"]), np.array(["k"]))[0] == 0.0
    assert high.exposure(np.ones(1), np.array(["X"]), np.array(["new"]))[0] == 1.0


def test_the_summary_says_how_much_of_the_correction_is_applied_and_why() -> None:
    high = DetectionModel().fit(**_thinned(10.0)).to_dict()["correction"]
    degenerate = DetectionModel().fit(**_thinned(0.05)).to_dict()["correction"]
    assert high["applied"] > 0.95 and "identified" in high["reason"]
    assert high["level_applied"] > 0.95 and high["contrast_applied"] > 0.95
    assert high["applied_by_country"] == {"X": high["applied"]}
    # Low effort: the level is dropped, the contrasts between cells are kept.
    assert degenerate["applied"] < 0.01 and degenerate["level_applied"] == 0.0
    assert degenerate["contrast_applied"] > 0.9
    assert degenerate["reason"].startswith("0% of the effort correction's common level")
    assert "not_identified" in degenerate["reason"]
    unshrunk = DetectionModel(shrink=False).fit(**_thinned(0.05)).to_dict()["correction"]
    assert unshrunk["applied"] == 1.0 and "as estimated" in unshrunk["reason"]


def test_a_model_pickled_before_the_correction_stepped_back_still_forecasts() -> None:
    cells = _thinned(1.0)
    model = DetectionModel().fit(**cells)
    del model.level_  # fitted by a release that shrank each cell's correction whole
    exposure = model.exposure(cells["effort"], cells["country"], cells["category"])
    assert np.isfinite(exposure).all() and (exposure > 0).all()
    older = DetectionModel().fit(**cells)
    del older.covariance_, older.level_  # and by one that did not shrink at all
    np.testing.assert_allclose(
        older.exposure(cells["effort"], cells["country"], cells["category"]),
        older.exposure(cells["effort"], cells["country"], cells["category"], shrink=False),
    )
    assert "as estimated" in older.correction()["reason"]


def _corrections(follow: bool) -> tuple[dict[str, object], float, float]:
    """A forecaster's correction summary on a generated panel whose patrols follow recent
    counts or not, and the mean share of the correction its past counts and its expected
    observations get."""
    world = generate_panel(24, 60, countries=3, effort_follows_counts=follow, seed=0)
    forecaster = RiskForecaster(horizon=2, n_estimators=5, calibration_periods=0)
    detection = forecaster.fit(world.panel, world.regions).detection_
    panel = world.panel
    cells = (panel["effort"], panel["region_id"].map(world.regions.set_index("region_id")["country"]),
             panel["category"])  # fmt: skip
    past = float(detection.shrinkage(*cells, history=True).mean())
    return detection.correction(), past, float(detection.shrinkage(*cells).mean())


def test_patrols_that_follow_counts_step_back_the_correction_between_cells_of_past_counts() -> None:
    follows, past, ahead = _corrections(follow=True)
    # Shifts go where recent counts were high: most of the log exposure between cells is
    # predicted by the counts of the two periods before, so less of it corrects past counts.
    assert all(r2 > 0.5 for r2 in follows["follows_counts"].values())
    assert all(k < 0.75 for k in follows["kept_between_cells"].values())
    assert past < ahead - 0.01 and "patrols follow the counts" in follows["reason"]
    # The reason is shown to every reader: the per-country figures stay in their own fields.
    assert not any(country in follows["reason"] for country in follows["follows_counts"])
    # Shifts spread at random: nothing follows counts and the whole correction stays.
    independent, past, ahead = _corrections(follow=False)
    assert all(r2 < 0.05 for r2 in independent["follows_counts"].values())
    assert all(k > 0.97 for k in independent["kept_between_cells"].values())
    assert abs(past - ahead) < 0.005 and "patrols follow" not in independent["reason"]
