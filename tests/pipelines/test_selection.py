"""Choosing the champion by evidence: the best candidate on one window, and a fair blend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import registry
from pipelines.backtest import BacktestResult
from pipelines.selection import add_blend, select

RANGE = registry.COVERAGE_RANGE


def _m(deviance: float, coverage: float = 0.8) -> dict[str, float]:
    return {"poisson_deviance": deviance, "coverage80": coverage}


@pytest.mark.parametrize(
    ("metrics", "chosen"),
    [
        # the main model loses to last value on this window: last value is chosen
        ({"lightgbm": _m(33.6), "poisson_glm": _m(17.1), "last_value": _m(15.2)}, "last_value"),
        # the main model wins
        ({"lightgbm": _m(0.9), "last_value": _m(1.5), "blend": _m(0.95)}, "lightgbm"),
        # the best is badly calibrated: the best calibrated one is chosen instead
        ({"lightgbm": _m(0.5, 0.95), "blend": _m(0.7), "last_value": _m(0.8)}, "blend"),
        # a tie goes to the simpler candidate
        ({"lightgbm": _m(1.0), "seasonal_naive": _m(1.0)}, "seasonal_naive"),
    ],
)
def test_select_picks_the_best_calibrated_candidate(
    metrics: dict[str, dict[str, float]], chosen: str
) -> None:
    selection = select(metrics, RANGE)
    assert selection.candidate == chosen
    assert set(selection.scores) == set(metrics)


@pytest.mark.parametrize(
    "challenger",
    ["lightgbm", "poisson_glm", "blend"],  # every candidate that a baseline beats
)
def test_gate_never_promotes_a_candidate_beaten_by_a_baseline(challenger: str) -> None:
    metrics = {
        "lightgbm": _m(33.6),
        "poisson_glm": _m(17.1),
        "blend": _m(16.0),
        "last_value": _m(15.2),
    }
    selection = select(metrics, RANGE)
    assert selection.candidate == "last_value"
    # Even if someone hands the gate another candidate, a simpler winner blocks it.
    forced = type(selection)(challenger, selection.reason, selection.scores)
    decision = registry.gate(metrics[challenger], None, None, forced)
    assert not decision.promote
    assert "last_value" in decision.reason
    winner = registry.gate(metrics["last_value"], None, None, selection)
    assert winner.promote and winner.candidate == "last_value"
    assert winner.candidates is not None and set(winner.candidates) == set(metrics)


def _backtest(rng: np.random.Generator) -> BacktestResult:
    """Two members: ``good`` is the truth plus noise, ``bad`` twice the truth."""
    origins = list(pd.date_range("2020-01-01", periods=6, freq="YS"))
    rows = []
    for o in origins:
        for r in range(40):
            truth = 5.0 + r
            y = float(rng.poisson(truth))
            period = o + pd.DateOffset(years=1)
            for model, pred in (("good", truth * 1.05), ("bad", truth * 2.0)):
                rows.append({
                    "model": model, "origin": o, "horizon": 1, "region_id": f"r{r}",
                    "category": "all", "period": period, "actual": y, "prediction": pred,
                    "q10": pred * 0.5, "q90": pred * 1.5, "activity_mean": pred,
                    "activity_q10": pred * 0.5, "activity_q90": pred * 1.5,
                    "country": "AAA", "area_km2": 1.0,
                })  # fmt: skip
    return BacktestResult(pd.DataFrame(rows), origins, 1, False)


def test_blend_weights_use_only_outcomes_known_at_each_origin() -> None:
    result = _backtest(np.random.default_rng(0))
    blended, weights = add_blend(result, ["good", "bad"])
    rows = blended.predictions[blended.predictions["model"] == "blend"]
    first = rows[rows["origin"] == result.origins[0]]
    good = result.predictions.query("model == 'good' and origin == @result.origins[0]")
    bad = result.predictions.query("model == 'bad' and origin == @result.origins[0]")
    # Nothing is known at the first origin: equal weights.
    np.testing.assert_allclose(
        first["prediction"].to_numpy(),
        (good["prediction"].to_numpy() + bad["prediction"].to_numpy()) / 2,
    )
    assert weights[0][0] > 0.9  # the evidence favours the good member
    metrics = blended.metrics()
    assert (
        metrics["blend"]["observed"]["poisson_deviance"]
        < metrics["bad"]["observed"]["poisson_deviance"]
    )


def test_a_counts_forecast_is_never_champion_on_a_panel_with_effort() -> None:
    metrics = {"lightgbm": _m(1.05), "lightgbm_naive": _m(1.0), "last_value": _m(1.8)}
    selection = select(metrics, RANGE, counts_only={"lightgbm_naive"})
    assert selection.candidate == "lightgbm"
    assert not selection.scores["lightgbm_naive"]["eligible"]  # scored, shown, not chosen
    assert registry.gate(metrics["lightgbm"], None, None, selection).promote
