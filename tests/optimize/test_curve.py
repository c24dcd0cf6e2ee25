"""The piecewise interdiction curve: always below the exact one and within the proved error."""

from __future__ import annotations

import numpy as np
import pytest

from crossplan.optimize.curve import DEFAULT_TOLERANCE, build_curves, exact_value


def _random_curves(seed: int, n_categories: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (40, n_categories, 2)
    activity = rng.lognormal(0.0, 1.5, shape)
    activity[rng.random(shape) < 0.2] = 0.0
    kappa = rng.uniform(0.01, 1.0, shape)
    top = rng.uniform(0.0, 200.0, (40, 2))
    return activity, kappa, top


@pytest.mark.parametrize(
    ("seed", "n_categories", "tolerance"),
    [
        (0, 1, DEFAULT_TOLERANCE),  # one category, the default tolerance
        (1, 2, DEFAULT_TOLERANCE),  # two categories with different detection rates
        (2, 4, DEFAULT_TOLERANCE),  # many categories
        (3, 2, 0.0099),  # just under the 1% the model promises
        (4, 2, 0.001),  # a fine curve
    ],
)
def test_piecewise_stays_within_the_reported_error(seed, n_categories, tolerance) -> None:
    activity, kappa, top = _random_curves(seed, n_categories)
    curves = build_curves(activity, kappa, top, tolerance)
    assert curves.max_error <= tolerance * (1 + 1e-9)
    worst = 0.0
    for s in np.concatenate([np.geomspace(1e-6, 1.0, 400), np.linspace(0.0, 1.0, 1601)]):
        effort = top * s
        exact = exact_value(activity, kappa, effort)
        piece = curves.value(effort)
        assert np.all(piece <= exact + 1e-9)
        rel = np.where(exact > 0, 1 - piece / np.where(exact > 0, exact, 1.0), 0.0)
        worst = max(worst, float(rel.max()))
    assert worst <= curves.max_error + 1e-12
    # the bound is not loose: the sampled error reaches most of it
    assert worst >= 0.5 * curves.max_error


def test_segments_stop_at_the_most_effort_and_slopes_decrease() -> None:
    activity = np.array([[[5.0]], [[0.0]], [[3.0]]])
    kappa = np.full_like(activity, 0.2)
    curves = build_curves(activity, kappa, np.array([[12.0], [10.0], [0.0]]))
    widths, slopes = curves.segments(0, 0)
    assert widths.sum() == pytest.approx(12.0)
    assert np.all(np.diff(slopes) < 0)
    # no activity, or no effort possible: no segment
    assert len(curves.segments(1, 0)[0]) == 0
    assert len(curves.segments(2, 0)[0]) == 0


def test_value_interpolates_the_exact_curve_at_breakpoints() -> None:
    activity = np.array([[[4.0, 1.0]]]).transpose(0, 2, 1)  # (1 region, 2 categories, 1 period)
    kappa = np.array([[[0.1, 0.5]]]).transpose(0, 2, 1)
    curves = build_curves(activity, kappa, np.array([[30.0]]))
    widths, _ = curves.segments(0, 0)
    for point in np.cumsum(widths):
        effort = np.array([[point]])
        assert curves.value(effort)[0, 0] == pytest.approx(
            exact_value(activity, kappa, effort)[0, 0], rel=1e-9
        )


def test_tolerance_must_be_sensible() -> None:
    one = np.ones((1, 1, 1))
    with pytest.raises(ValueError, match="tolerance"):
        build_curves(one, one, np.ones((1, 1)), tolerance=0.7)
