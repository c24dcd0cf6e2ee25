"""The blend: weights that minimise deviance, and a weighted mean of members' forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from crossplan.models import (
    BlendForecaster,
    LastValue,
    RiskForecaster,
    blend_weights,
    generate_panel,
)
from crossplan.models.blend import EQUAL_SHARE_ORIGINS


def test_blend_weights_find_the_better_member() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(1, 20, 2000)
    y = rng.poisson(truth)
    members = np.column_stack([truth, truth * 3, np.full_like(truth, y.mean())])
    w = blend_weights(y, members)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert w[0] > 0.9


def test_blend_weights_on_few_origins_stay_near_equal_shares() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(1, 20, 2000)
    y = rng.poisson(truth)
    members = np.column_stack([truth, truth * 3])
    fitted = blend_weights(y, members)
    assert fitted[0] > 0.95
    # The same rows as the forecasts of a few origins: most of the weight is an equal share.
    for origins, share in ((0, 0.0), (2, 0.2), (EQUAL_SHARE_ORIGINS, 0.5), (792, 0.99)):
        w = blend_weights(y, members, origins)
        np.testing.assert_allclose(w, share * fitted + (1 - share) / 2)
        assert w.sum() == pytest.approx(1.0)
    # A count of origins below zero is none; one that is not a number leaves the fit alone.
    np.testing.assert_allclose(blend_weights(y, members, -3), [0.5, 0.5])
    np.testing.assert_allclose(blend_weights(y, members, float("nan")), fitted)


def test_blend_weights_are_pulled_toward_their_prior_only() -> None:
    rng = np.random.default_rng(2)
    truth = rng.uniform(1, 20, 2000)
    y = rng.poisson(truth)
    # The second member is the better one; the prior gives it nothing, the third half.
    members = np.column_stack([truth * 2, truth, truth * 0.5])
    fitted = blend_weights(y, members)
    w = blend_weights(y, members, EQUAL_SHARE_ORIGINS, prior=np.array([1.0, 0.0, 1.0]))
    np.testing.assert_allclose(w, 0.5 * fitted + [0.25, 0.0, 0.25])
    # Without evidence, the prior itself.
    empty = blend_weights(np.empty(0), np.empty((0, 3)), 0, prior=np.array([0.0, 2.0, 2.0]))
    np.testing.assert_allclose(empty, [0.0, 0.5, 0.5])
    for bad in ([1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 0.0, 0.0]):
        with pytest.raises(ValueError, match="3 non-negative shares"):
            blend_weights(y, members, 4, prior=np.array(bad))


def test_blend_weights_without_evidence_are_equal() -> None:
    np.testing.assert_allclose(blend_weights(np.empty(0), np.empty((0, 3))), [1 / 3] * 3)


def test_blend_forecast_is_the_weighted_mean_per_horizon() -> None:
    world = generate_panel(n_regions=6, n_periods=60, with_effort=False, seed=3)
    members = [
        ("lightgbm", RiskForecaster(horizon=2, n_estimators=20)),
        ("last_value", LastValue(horizon=2)),
    ]
    weights = [[0.25, 0.75], [1.0, 0.0]]  # horizon 1 mostly last value, horizon 2 the model
    blend = BlendForecaster(members=members, weights=weights, horizon=2).fit(world.panel)
    forecast = blend.predict(world.panel)
    parts = [m.predict(world.panel) for _, m in blend.members_]
    step = forecast["period"].rank(method="dense").astype(int).to_numpy() - 1
    w = np.asarray(weights)[step]
    expected = w[:, 0] * parts[0]["activity_mean"] + w[:, 1] * parts[1]["activity_mean"]
    np.testing.assert_allclose(forecast["activity_mean"], expected)
    assert (forecast["activity_q10"] <= forecast["activity_q90"]).all()
    assert blend.detection_summary()["blend_weights"] == {
        "lightgbm": [0.25, 1.0],
        "last_value": [0.75, 0.0],
    }


def test_blend_refuses_weights_that_do_not_fit() -> None:
    world = generate_panel(n_regions=3, n_periods=20, with_effort=False, seed=0)
    blend = BlendForecaster(members=[("last_value", LastValue(horizon=2))], weights=[[1.0]])
    with pytest.raises(ValueError, match="per horizon"):
        blend.set_params(horizon=2).fit(world.panel)


def test_a_blend_fitted_before_it_had_intervals_of_its_own_still_forecasts() -> None:
    world = generate_panel(n_regions=6, n_periods=60, with_effort=False, seed=3)
    members = [("last_value", LastValue(horizon=2)), ("lightgbm", RiskForecaster(horizon=2,
                                                                                   n_estimators=20))]  # fmt: skip
    blend = BlendForecaster(members=members, weights=[[0.5, 0.5], [0.5, 0.5]], horizon=2)
    blend.fit(world.panel)
    own = blend.predict(world.panel)
    del blend.intervals_, blend.calibration_  # as a blend pickled by an earlier release
    old = blend.predict(world.panel)
    parts = [m.predict(world.panel) for _, m in blend.members_]
    np.testing.assert_allclose(old["activity_mean"], own["activity_mean"])
    np.testing.assert_allclose(
        old["activity_q90"], 0.5 * parts[0]["activity_q90"] + 0.5 * parts[1]["activity_q90"]
    )
