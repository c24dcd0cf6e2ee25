"""Features: rolling windows against pandas, spatial lags, and no look past the origin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossplan.models.features import (
    feature_spec,
    lag,
    make_features,
    origin_features,
    recent_change_features,
    recent_level,
    region_context,
    rolling_mean,
)
from crossplan.models.panel import to_arrays
from crossplan.models.synthetic import generate_panel


@pytest.mark.parametrize("window", [1, 3, 8])  # trivial, short, longer than gaps
def test_rolling_mean_matches_pandas(window: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.poisson(3.0, (2, 5, 30)).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan  # missing cells are skipped, not zero
    expected = pd.DataFrame(x.reshape(-1, 30).T).rolling(window, min_periods=1).mean().T.to_numpy()
    np.testing.assert_allclose(rolling_mean(x, window).reshape(-1, 30), expected)


def test_lag_shifts_later() -> None:
    x = np.arange(5.0)[None, :]
    np.testing.assert_array_equal(lag(x, 2), [[np.nan, np.nan, 0.0, 1.0, 2.0]])


def test_spatial_lags_keep_cross_border_neighbours_apart() -> None:
    panel = pd.DataFrame(
        {
            "region_id": ["a", "b", "c"] * 2,
            "period": pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-08"] * 3),
            "category": "x",
            "count": [1, 10, 100, 2, 20, 200],
        }
    )
    adjacency = pd.DataFrame(
        {
            "region_id": ["a", "b", "a", "c"],
            "neighbour_id": ["b", "a", "c", "a"],
            "cross_border": [False, False, True, True],
        }
    )
    feats = make_features(panel, None, adjacency).xs("2024-01-08", level="period")
    assert feats.loc[("a", "x"), "nb_within_lag0"] == 20
    assert feats.loc[("a", "x"), "nb_cross_lag0"] == 200
    assert np.isnan(feats.loc[("b", "x"), "nb_cross_lag0"])  # b has no foreign neighbour


def test_region_context_aligns_static_covariates() -> None:
    regions = pd.DataFrame({"region_id": ["b", "a"], "country": ["X", "Y"], "cov_k": [2.0, 1.0]})
    ctx = region_context(np.array(["a", "b"], dtype=object), regions)
    assert list(ctx.country) == ["Y", "X"]
    np.testing.assert_array_equal(ctx.static[:, ctx.static_names.index("cov_k")], [1.0, 2.0])


@pytest.mark.parametrize("horizon", [1, 4])  # next period, and a horizon past a season edge
def test_features_never_look_past_the_origin(horizon: int) -> None:
    world = generate_panel(n_regions=9, n_periods=70, countries=2, seed=4)
    origin = world.panel["period"].sort_values().unique()[50]
    corrupted = world.panel.copy()
    future = corrupted["period"] > origin
    for col in ("reported", "detected", "effort", "cov_origin_pressure"):
        corrupted.loc[future, col] = corrupted.loc[future, col] * 7 + 3
    args = (world.regions, world.adjacency)
    clean = make_features(world.panel, *args, horizon=horizon)
    dirty = make_features(corrupted, *args, horizon=horizon)
    upto = clean.index.get_level_values("period") <= origin
    pd.testing.assert_frame_equal(clean[upto], dirty[upto])
    assert not clean[~upto].equals(dirty[~upto])  # the corruption did change later features


def test_features_left_out_are_not_made_and_the_rest_are_unchanged() -> None:
    world = generate_panel(n_regions=6, n_periods=40, countries=2, seed=2)
    data = to_arrays(world.panel)
    context = region_context(data.regions, world.regions, world.adjacency)
    spec = feature_spec(data.frequency)
    level = recent_level(data.total, spec.level)
    names, every = origin_features(data, data.total, context, level=level)
    single = recent_change_features(spec)
    assert single < set(names)  # every name it leaves out is a feature
    assert f"y_lag{spec.lags[0]}" not in single and f"rel_mean{spec.windows[0]}" not in single
    kept, fewer = origin_features(data, data.total, context, level=level, leave_out=single)
    assert kept == [n for n in names if n not in single]
    np.testing.assert_array_equal(fewer, every[..., [names.index(n) for n in kept]])


def test_a_yearly_panel_keeps_its_last_value_and_means() -> None:
    assert recent_change_features(feature_spec("yearly")) == {
        "y_lag1", "rel_lag1", "y_trend2", "log_growth2", "log_short_long",
    }  # fmt: skip
