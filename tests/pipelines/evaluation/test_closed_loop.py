"""Closed loop on a small world: plans beat current practice, and effort awareness is why."""

from __future__ import annotations

import pandas as pd
import pytest

from crossplan.pipelines.evaluation import EvaluationConfig, evaluate, run_policy
from crossplan.pipelines.evaluation.summary import Evaluation
from crossplan.pipelines.simulate import simulate_world

# One worker computes the shared evaluation once for every test of this module.
pytestmark = pytest.mark.xdist_group("closed_loop")

SMALL = {"countries": 3, "regions": 30, "periods": 80, "model_params": {"n_estimators": 150}}


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    config = EvaluationConfig(
        seeds=(1, 2),
        rounds=6,
        retrain_every=3,
        policies=("proportional", "naive", "crossplan", "oracle"),
        **SMALL,
    )
    return evaluate(config, n_jobs=2)


def _totals(per_seed: pd.DataFrame, metric: str) -> pd.Series:
    return per_seed.groupby("policy")[metric].sum()


def test_oracle_beats_crossplan_beats_current_practice(evaluation: Evaluation) -> None:
    # expected true interceptions of each round's plan: the oracle's optimum is the ceiling
    expected = _totals(evaluation.per_seed, "expected_interdictions")
    assert expected["oracle"] >= expected["crossplan"] > expected["proportional"]
    # effort awareness is what lifts crossplan above the same model trained on raw counts
    assert expected["crossplan"] > expected["naive"] * 1.02
    # and on the incidents actually intercepted in the simulated worlds
    found = _totals(evaluation.per_seed, "intercepted")
    assert found["crossplan"] > found["proportional"]
    assert found["crossplan"] > found["naive"]


def test_forecasts_of_activity_are_closer_to_the_truth(evaluation: Evaluation) -> None:
    deviance = evaluation.per_seed.groupby("policy")["forecast_deviance"].mean()
    assert deviance["crossplan"] < deviance["naive"] / 2


def test_without_effort_awareness_crossplan_is_the_naive_model() -> None:
    config = EvaluationConfig(seeds=(1,), rounds=3, retrain_every=3, effort_aware=False, **SMALL)
    crossplan = run_policy(config, 1, "crossplan").rounds
    naive = run_policy(config, 1, "naive").rounds
    pd.testing.assert_series_equal(
        crossplan["expected_interdictions"], naive["expected_interdictions"]
    )


def test_runs_are_deterministic_and_do_not_touch_history() -> None:
    config = EvaluationConfig(seeds=(4,), rounds=2, **SMALL)
    a = run_policy(config, 4, "proportional").rounds
    b = run_policy(config, 4, "proportional").rounds
    pd.testing.assert_frame_equal(a, b)
    world = simulate_world(4, 3, 30, 80)
    assert a["period"].iloc[0] == world.next_period()


def test_summary_json_is_keyed_by_policy(evaluation: Evaluation) -> None:
    results = evaluation.to_json()
    assert set(results["policies"]) == {"proportional", "naive", "crossplan", "oracle"}
    for metrics in results["policies"].values():
        assert {"intercepted", "share_of_oracle", "gini", "blind_spot_activity"} <= set(metrics)
    assert results["policies"]["oracle"]["share_of_oracle"] == pytest.approx(1.0)
    assert len(results["seeds"]) == 2 * 4


def test_bad_options_are_named() -> None:
    config = EvaluationConfig(seeds=(), rounds=0, retrain_every=0, policies=("magic",))
    problems = " ".join(config.check())
    for option in ("seeds", "rounds", "retrain_every", "policies"):
        assert option in problems
