"""Choosing the champion by evidence: calibrated candidates, gains beyond noise, a fair blend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossplan.models import LastValue, RiskForecaster
from crossplan.models.blend import EQUAL_SHARE_ORIGINS
from crossplan.models.synthetic import generate_panel
from crossplan.pipelines import registry
from crossplan.pipelines.backtest import BacktestResult, default_models
from crossplan.pipelines.conventions import COVERAGE_WINDOW, CoverageWindow
from crossplan.pipelines.forecast_rows import ForecastRows
from crossplan.pipelines.noise_test import paired_bootstrap
from crossplan.pipelines.selection import (
    Selection,
    add_blend,
    compare,
    forecasts_counts,
    judge,
    select,
)

ORIGINS = list(pd.date_range("2020-01-06", periods=12, freq="7D"))


def _result(forecasts: dict[str, float], *, seed: int = 0, noise: float = 0.0,
            miss: dict[str, float] | None = None) -> BacktestResult:  # fmt: skip
    """A backtest where candidate ``name`` forecasts ``truth * forecasts[name]``.

    ``noise`` adds each candidate's own multiplicative jitter (so equal scales differ by
    chance). Intervals are set around the outcome so that each candidate's misses are
    exactly ``miss[name]`` (0.2 by default), half below and half above.
    """
    rng = np.random.default_rng(seed)
    truth = rng.uniform(2.0, 30.0, (len(ORIGINS), 40))
    actual = rng.poisson(truth).astype(float)
    step = np.arange(truth.size).reshape(truth.shape) % 20
    rows = []
    for name, scale in forecasts.items():
        mean = truth * scale * np.exp(rng.normal(0.0, noise, truth.shape))
        missed = round(20 * (miss or {}).get(name, 0.2))
        lo = np.where(step < missed / 2, actual + 1, actual - 1)
        hi = np.where((step >= missed / 2) & (step < missed), actual - 1, actual + 1)
        for i, origin in enumerate(ORIGINS):
            for r in range(truth.shape[1]):
                m, q10, q90 = float(mean[i, r]), float(lo[i, r]), float(hi[i, r])
                rows.append({
                    "model": name, "origin": origin, "horizon": 1, "region_id": f"r{r:02d}",
                    "category": "all", "period": origin + pd.Timedelta(days=7),
                    "actual": actual[i, r], "prediction": m, "q10": q10, "q90": q90,
                    "activity_mean": m, "activity_q10": q10, "activity_q90": q90,
                    "country": "AAA", "area_km2": 1.0,
                })  # fmt: skip
    return BacktestResult(ForecastRows.of(pd.DataFrame(rows)), ORIGINS, 1, False)


def test_a_gain_inside_the_noise_does_not_replace_a_simpler_candidate() -> None:
    # The same forecasts up to each candidate's own jitter: whichever is lowest won by chance.
    result = _result({"poisson_glm": 1.0, "lightgbm": 1.0, "blend": 1.0}, noise=0.15)
    selection = select(result)
    assert selection.candidate == "poisson_glm"
    assert "did not beat it beyond noise" in selection.reason
    for name in ("lightgbm", "blend"):
        lo, hi = selection.scores[name]["vs_chosen"]["interval90"]
        assert lo < 0 < hi  # the difference is within the noise


def test_a_gain_beyond_the_noise_replaces_the_simpler_candidates() -> None:
    result = _result({"last_value": 1.5, "poisson_glm": 1.3, "lightgbm": 1.0})
    selection = select(result)
    assert selection.candidate == "lightgbm"
    assert "replaced last_value, then poisson_glm" in selection.reason
    assert selection.scores["last_value"]["beaten_by"] == ["poisson_glm", "lightgbm"]
    assert selection.scores["lightgbm"]["beaten_by"] == []
    assert selection.test["origins"] == len(ORIGINS)
    assert selection.test["replicates"] > 100 and "bootstrap" in selection.test["method"]


def test_coverage_outside_the_window_makes_a_candidate_ineligible() -> None:
    # lightgbm has the lowest deviance, but its interval is far too narrow to cover 80%.
    result = _result({"last_value": 1.5, "lightgbm": 1.0, "blend": 1.05},
                     miss={"lightgbm": 0.5})  # fmt: skip
    selection = select(result)
    assert not selection.scores["lightgbm"]["eligible"]
    assert selection.scores["lightgbm"]["coverage80"] < COVERAGE_WINDOW.lo
    # and it says why: the measure, its value, the window
    cov = selection.scores["lightgbm"]["pit_coverage80"]
    assert selection.scores["lightgbm"]["not_eligible"] == (
        f"count-aware 80% coverage (pit_coverage80) {cov:.3f} is outside [0.75, 0.85]"
    )
    assert "not_eligible" not in selection.scores["blend"]
    assert selection.scores["lightgbm"]["below_q10"] > 0.2  # each end is reported
    assert selection.candidate == "blend"


def test_the_selection_carries_the_window_it_held_candidates_to() -> None:
    result = _result({"last_value": 1.5, "lightgbm": 1.0}, miss={"lightgbm": 0.5})
    selection = select(result)
    assert selection.to_dict()["coverage_window"] == {"lo": 0.75, "hi": 0.85}
    assert selection.coverage_window == COVERAGE_WINDOW
    # A wider window makes the narrow interval eligible, and the selection says so.
    wide = CoverageWindow(0.4, 0.9)
    widened = select(result, window=wide)
    assert widened.scores["lightgbm"]["eligible"] and widened.candidate == "lightgbm"
    assert widened.to_dict()["coverage_window"] == {"lo": 0.4, "hi": 0.9}
    assert "within [0.4, 0.9]" in widened.reason


def test_a_counts_forecast_is_never_champion_on_a_panel_with_effort() -> None:
    result = _result({"last_value": 1.5, "lightgbm_naive": 0.99, "lightgbm": 1.0})
    selection = select(result, counts_only={"lightgbm_naive"})
    assert selection.candidate == "lightgbm"
    assert not selection.scores["lightgbm_naive"]["eligible"]  # scored, shown, not chosen
    # its coverage may be fine: the reason is what it forecasts
    assert selection.scores["lightgbm_naive"]["not_eligible"].startswith(
        "forecasts observed counts, not activity"
    )
    assert registry.gate(selection.scores["lightgbm"], None, None, selection).promote


@pytest.mark.parametrize("challenger", ["poisson_glm", "blend"])
def test_gate_never_promotes_a_candidate_beaten_beyond_noise(challenger: str) -> None:
    result = _result({"last_value": 1.0, "poisson_glm": 1.6, "blend": 1.4})
    selection = select(result)
    assert selection.candidate == "last_value"
    # Even if someone hands the gate another candidate, its beater blocks it.
    forced = Selection(challenger, selection.reason, selection.scores, selection.test)
    decision = registry.gate(selection.scores[challenger], None, None, forced)
    assert not decision.promote and "beyond noise" in decision.reason
    assert "last_value" in decision.reason
    winner = registry.gate(selection.scores["last_value"], None, None, selection)
    assert winner.promote and winner.candidate == "last_value"
    assert winner.candidates is not None and set(winner.candidates) == set(selection.scores)


def test_the_paired_bootstrap_compares_candidates_on_the_same_draws() -> None:
    result = _result({"a": 1.0, "b": 1.0, "c": 1.2}, noise=0.0)
    test = paired_bootstrap(result.predictions, ["a", "b", "c"], block=3, replicates=500)
    assert test.difference("a", "b") == (0.0, 0.0)  # identical forecasts: no noise at all
    lo, hi = test.difference("c", "a")
    assert 0 < lo < hi and test.beats("a", "c") and not test.beats("c", "a")
    # The interval holds the observed difference of mean deviances.
    metrics = result.metrics()
    gap = (metrics["c"]["observed"]["poisson_deviance"]
           - metrics["a"]["observed"]["poisson_deviance"])  # fmt: skip
    assert lo <= gap <= hi
    assert test.describe()["block"] == 3


def _members_backtest(rng: np.random.Generator) -> BacktestResult:
    """Two members: ``good`` is the truth plus noise, ``bad`` twice the truth."""
    origins = list(pd.date_range("2020-01-01", periods=6, freq="YS"))
    rows, calibration = [], {}
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
    # Held-out forecasts of each origin's fits: 200 cells of the truth, good and bad; the
    # first origin's fits forecast their held-out window alike, so nothing tells them apart.
    truth = np.repeat(5.0 + np.arange(40.0), 5)
    held = rng.poisson(truth).astype(float)
    for model, scale in (("good", 1.05), ("bad", 2.0)):
        frame = pd.DataFrame({"category": 0, "region": np.arange(200) % 40,
                              "target": np.arange(200) // 40, "horizon": 1, "actual": held,
                              "mean": truth * scale})  # fmt: skip
        calibration[model] = dict.fromkeys(origins, frame)
        calibration[model][origins[0]] = frame.assign(mean=truth * 1.5)
    return BacktestResult(ForecastRows.of(pd.DataFrame(rows)), origins, 1, False, calibration)


def test_blend_weights_use_only_outcomes_known_at_each_origin() -> None:
    result = _members_backtest(np.random.default_rng(0))
    blended, weights = add_blend(result, ["good", "bad"])
    rows = blended.predictions[blended.predictions["model"] == "blend"]
    first = rows[rows["origin"] == result.origins[0]]
    good = result.predictions.query("model == 'good' and origin == @result.origins[0]")
    bad = result.predictions.query("model == 'bad' and origin == @result.origins[0]")
    # Nothing known at the first origin tells the members apart: equal weights.
    np.testing.assert_allclose(
        first["prediction"].to_numpy(),
        (good["prediction"].to_numpy() + bad["prediction"].to_numpy()) / 2,
    )
    # At the second, the held-out forecasts of its fits do, with the first origin's forecast
    # (its target is the second origin): six origins' forecasts, all for the good member,
    # which gets 6/14 of the weight by evidence and half of the rest as an equal share.
    second = rows[rows["origin"] == result.origins[1]]
    good = result.predictions.query("model == 'good' and origin == @result.origins[1]")
    bad = result.predictions.query("model == 'bad' and origin == @result.origins[1]")
    share = 6 / (6 + EQUAL_SHARE_ORIGINS)
    w_good = share + (1 - share) / 2
    expected = w_good * good["prediction"].to_numpy() + (1 - w_good) * bad["prediction"].to_numpy()
    np.testing.assert_allclose(second["prediction"], expected, rtol=0.01)
    # The final weights rest on all six origins: as far from equal shares as they may go.
    assert weights[0][0] == pytest.approx(w_good, abs=0.01)
    metrics = blended.metrics()
    assert (
        metrics["blend"]["observed"]["poisson_deviance"]
        < metrics["bad"]["observed"]["poisson_deviance"]
    )
    # Its intervals are its own: calibrated on the blended held-out forecasts, they cover.
    last = rows[rows["origin"] == result.origins[-1]]
    assert 0.7 <= metrics["blend"]["observed"]["coverage80"] <= 0.9
    assert not np.allclose(last["q90"], last["prediction"] * 1.5)


def test_on_a_panel_with_effort_a_count_forecaster_gets_no_equal_share() -> None:
    """The blend's weights are pulled toward equal shares of what a plan may rest on: on a
    panel with effort, not toward the naive twin's counts (it keeps what the evidence gives)."""
    result = _members_backtest(np.random.default_rng(0))
    models = {"good": LastValue(horizon=1), "bad": RiskForecaster(horizon=1, effort_aware=False)}
    pulled = judge(result, models, has_effort=False).weights[0]
    assert pulled[1] == pytest.approx((1 - 6 / (6 + EQUAL_SHARE_ORIGINS)) / 2, abs=0.01)
    with_effort = judge(result, models, has_effort=True)
    assert with_effort.weights[0][1] < 0.01 and with_effort.weights[0][0] > 0.99
    assert "blend" not in forecasts_counts(models, with_effort.weights)


@pytest.mark.slow
def test_a_weak_feedback_world_gets_a_champion_no_worse_than_ignoring_effort() -> None:
    """kappa * effort << 1: rates are not identified and the correction must step back.

    An independent-style world (a grid of regions, patrols a fifth of a shift per region
    and week), so the check does not rest on the simulator the defaults are tuned on.
    """
    world = generate_panel(40, 156, countries=3, shifts_per_region=0.2, seed=1)
    comparison = compare(
        world.panel, world.regions, world.adjacency, default_models(4),
        has_effort=True, truth=world.truth, origins=8, horizon=4, refit_every=4,
    )  # fmt: skip
    truth = {n: m["truth"] for n, m in comparison.result.metrics().items()}
    champion = comparison.selection.candidate
    assert champion != "lightgbm_naive"
    naive = truth["lightgbm_naive"]
    assert truth[champion]["poisson_deviance"] <= 1.1 * naive["poisson_deviance"]
    assert truth[champion]["capture10"] >= naive["capture10"] - 0.005
    # The effort-aware model, too, is no worse than its naive twin against the truth.
    assert truth["lightgbm"]["poisson_deviance"] <= 1.1 * naive["poisson_deviance"]


def test_gate_never_promotes_an_ineligible_candidate() -> None:
    result = _result({"last_value": 1.5, "lightgbm": 1.0}, miss={"lightgbm": 0.5})
    selection = select(result)
    forced = Selection("lightgbm", selection.reason, selection.scores, selection.test)
    decision = registry.gate(selection.scores["lightgbm"], None, None, forced)
    assert not decision.promote and "not eligible" in decision.reason
    # With only count forecasts in range on a panel with effort, nothing is promoted.
    barred = select(result, counts_only={"last_value", "lightgbm"})
    assert "forecasts activity" in barred.reason
    assert not registry.gate(barred.scores[barred.candidate], None, None, barred).promote


def test_with_no_calibrated_candidate_the_best_by_proper_scores_is_chosen_and_promoted() -> None:
    """Every interval over-covers (count-aware coverage 1.0): the closest coverage decides
    nothing; deviance among the best intervals does, and a first champion is promoted
    saying what it compromised on."""
    scales = {"last_value": 1.6, "seasonal_naive": 1.5, "poisson_glm": 1.0, "lightgbm": 1.02}
    result = _result(scales, miss=dict.fromkeys(scales, 0.0))
    selection = select(result)
    assert selection.candidate == "poisson_glm"
    assert "compromise" in selection.compromise and "1.000" in selection.compromise
    assert not any(s["eligible"] for s in selection.scores.values())
    decision = registry.gate(selection.scores["poisson_glm"], None, None, selection)
    assert decision.promote and "compromise" in decision.reason
    # Over a calibrated champion, a compromise is not promoted.
    calibrated = {"poisson_deviance": 9.0, "coverage80": 0.8, "pit_coverage80": 0.8}
    assert not registry.gate(selection.scores["poisson_glm"], calibrated, "1", selection).promote


def test_a_compromise_that_does_not_beat_the_baselines_is_not_promoted() -> None:
    scales = {"last_value": 1.0, "seasonal_naive": 1.0, "poisson_glm": 1.0}
    result = _result(scales, noise=0.05, miss=dict.fromkeys(scales, 0.0))
    selection = select(result)
    assert selection.compromise
    decision = registry.gate(selection.scores[selection.candidate], None, None, selection)
    assert not decision.promote and "naive baselines" in decision.reason
