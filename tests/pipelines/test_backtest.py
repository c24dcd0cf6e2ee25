"""Rolling-origin backtests on simulated worlds: folds, no leakage, results, must-show checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crossplan.models import (
    BlendForecaster,
    LastValue,
    MovingAverage,
    PanelForecaster,
    RiskForecaster,
    SeasonalNaive,
    generate_panel,
)
from crossplan.pipelines.backtest import BacktestResult, backtest
from crossplan.pipelines.contract import Dataset, load_dataset, read_truth
from crossplan.pipelines.metrics import coverage


@pytest.fixture(scope="module")
def small(small_world_dir: Path) -> tuple[Dataset, pd.DataFrame]:
    return load_dataset(small_world_dir), read_truth(small_world_dir)


def _run(
    ds: Dataset, truth: pd.DataFrame | None, models: dict[str, PanelForecaster], **kw: Any
) -> BacktestResult:
    return backtest(ds.incidents, ds.regions, ds.adjacency, models, truth=truth, **kw)


def test_every_model_on_the_same_folds(small: tuple[Dataset, pd.DataFrame]) -> None:
    ds, truth = small
    models = {"ma": MovingAverage(horizon=3), "sn": SeasonalNaive(horizon=3)}
    result = _run(ds, truth, models, origins=4, horizon=3)
    pred = result.predictions
    keys = ["origin", "horizon", "region_id", "category", "period"]
    ma = pred[pred["model"] == "ma"][keys].reset_index(drop=True)
    sn = pred[pred["model"] == "sn"][keys].reset_index(drop=True)
    assert ma.equals(sn)
    assert result.origins == list(ds.periods[-5:-1])
    last = ds.periods[-1]
    assert pred["period"].max() == last  # horizons are cut at the end of the data
    assert set(pred[pred["origin"] == result.origins[-1]]["horizon"]) == {1}
    assert (pred["period"] > pred["origin"]).all()


def test_results_file_is_keyed_for_scripts(small: tuple[Dataset, pd.DataFrame]) -> None:
    ds, truth = small
    result = _run(ds, truth, {"ma": MovingAverage(horizon=2)}, origins=3, horizon=2)
    doc = result.to_json()
    metrics = {"poisson_deviance", "mae", "pai10", "coverage80", "interval_width80",
               "below_q10", "above_q90", "interval_score80", "pinball_q10", "pinball_q90"}  # fmt: skip
    assert metrics <= set(doc["models"]["ma"]["observed"])
    assert metrics | {"spearman", "capture10"} <= set(doc["models"]["ma"]["truth"])
    by_h = doc["models"]["ma"]["by_horizon"]["observed"]["1"]
    assert {"coverage80", "below_q10", "above_q90", "interval_score80"} <= set(by_h)
    assert set(doc["models"]["ma"]["by_horizon"]["observed"]) == {"1", "2"}
    assert set(doc["models"]["ma"]["by_country"]["observed"]) == set(ds.regions["country"])


def test_nothing_after_the_origin_leaks_in(small: tuple[Dataset, pd.DataFrame]) -> None:
    ds, _ = small
    model = {"lgbm": RiskForecaster(horizon=2, n_estimators=30)}
    clean = _run(ds, None, model, origins=2, horizon=2).predictions
    cut = ds.periods[-3]
    corrupted = ds.incidents.copy()
    later = corrupted["period"] > cut
    corrupted.loc[later, "reported"] = corrupted.loc[later, "reported"] * 5 + 1
    dirty = backtest(corrupted, ds.regions, ds.adjacency, model, origins=2, horizon=2)
    first = clean["origin"] == cut
    np.testing.assert_allclose(
        clean.loc[first, "activity_mean"], dirty.predictions.loc[first, "activity_mean"]
    )


def test_bad_options(small: tuple[Dataset, pd.DataFrame]) -> None:
    ds, _ = small
    with pytest.raises(ValueError, match="horizon"):
        _run(ds, None, {"ma": MovingAverage()}, horizon=0)
    with pytest.raises(ValueError, match="too few"):
        _run(ds, None, {"ma": MovingAverage()}, origins=500)


@pytest.mark.slow
def test_default_world_must_show(default_world_dir: Path) -> None:
    """On the default world: LightGBM beats seasonal naive, effort awareness beats counts,
    and 80% intervals are calibrated: count-aware coverage of observed outcomes within
    75-85%, plain coverage above it (counts are discrete; fewer origins than the report's)."""
    ds, truth = load_dataset(default_world_dir), read_truth(default_world_dir)
    models = {
        "lightgbm": RiskForecaster(horizon=4),
        "naive": RiskForecaster(horizon=4, effort_aware=False),
        "seasonal_naive": SeasonalNaive(horizon=4),
    }
    m = _run(ds, truth, models, origins=6, horizon=4, refit_every=6).metrics()
    for scope in ("observed", "truth"):
        assert (
            m["lightgbm"][scope]["poisson_deviance"]
            <= 0.85 * (m["seasonal_naive"][scope]["poisson_deviance"])
        )
    assert m["lightgbm"]["truth"]["poisson_deviance"] < m["naive"]["truth"]["poisson_deviance"]
    assert m["lightgbm"]["truth"]["spearman"] > m["naive"]["truth"]["spearman"]
    observed = m["lightgbm"]["observed"]
    assert 0.75 <= observed["pit_coverage80"] <= 0.85
    assert observed["coverage80"] >= observed["pit_coverage80"]


def test_a_blend_interval_is_calibrated_on_its_own_held_out_forecasts() -> None:
    """Averaging members' quantiles under-covers (their errors partly cancel in the mean);
    the blend's own calibration, on the blend of their held-out forecasts, does not."""
    world = generate_panel(n_regions=30, n_periods=120, seed=0, with_effort=False)
    members = [("lightgbm", RiskForecaster(horizon=2, n_estimators=40)),
               ("last_value", LastValue(horizon=2)), ("moving_average", MovingAverage(horizon=2))]  # fmt: skip
    weights = [[0.4, 0.3, 0.3], [0.4, 0.3, 0.3]]
    blend = BlendForecaster(members=members, weights=weights, horizon=2)
    result = backtest(world.panel, world.regions, world.adjacency,
                      {"blend": blend, **dict(members)}, origins=20, horizon=2, refit_every=5)  # fmt: skip
    pred = result.predictions
    own = pred[pred["model"] == "blend"].reset_index(drop=True)
    parts = [pred[pred["model"] == name].reset_index(drop=True) for name, _ in members]
    averaged = [sum(w * part[q] for w, part in zip(weights[0], parts, strict=True))
                for q in ("q10", "q90")]  # fmt: skip
    own_coverage = coverage(own["actual"], own["q10"], own["q90"])
    assert 0.75 <= result.metrics()["blend"]["observed"]["pit_coverage80"] <= 0.85
    assert coverage(own["actual"], *averaged) < own_coverage - 0.05
    # Each fold's blend was calibrated on the blended held-out forecasts of its fits.
    fitted = BlendForecaster(members=members, weights=weights, horizon=2).fit(world.panel)
    held = [m.calibration_ for _, m in fitted.members_]
    np.testing.assert_allclose(
        fitted.calibration_["mean"],
        sum(w * h["mean"] for w, h in zip(weights[0], held, strict=True)),
    )
