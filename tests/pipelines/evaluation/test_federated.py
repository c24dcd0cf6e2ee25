"""The federated policy on a small world: every country plans its own units on its own view,
joint operations launch only where every party pledged, and the three policies are reported
side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossplan.pipelines.evaluation import EvaluationConfig, run_policy, summarize_runs
from crossplan.pipelines.evaluation.coordination import PUBLISHED, shared_regions
from crossplan.pipelines.evaluation.federated import FederatedRunner
from crossplan.pipelines.evaluation.knowledge import Knowledge
from crossplan.pipelines.evaluation.report import write_report
from crossplan.pipelines.simulate import simulate_world
from crossplan.pipelines.views import region_level

SMALL = {"countries": 3, "regions": 30, "periods": 80, "model_params": {"n_estimators": 40}}
SEED = 5  # this small world has two joint operations, JO-1 (ALB, GRC) and JO-2 (GRC, MKD)


@pytest.fixture(scope="module")
def planned() -> tuple[FederatedRunner, Knowledge, dict[str, float]]:
    world = simulate_world(SEED, SMALL["countries"], SMALL["regions"], SMALL["periods"])
    knowledge = Knowledge(
        world.incidents(),
        world.regions,
        world.adjacency,
        world.resources,
        world.next_activity(),
        world.kappa,
    )
    runner = FederatedRunner("federated", True, model_params=SMALL["model_params"])
    return runner, knowledge, runner.plan(knowledge)


def test_each_country_assigns_only_its_own_units(planned) -> None:
    runner, knowledge, _ = planned
    assert runner.agreed is not None
    country_of = {u.unit_id: u.country for u in knowledge.resources.units}
    region_country = knowledge.regions.set_index("region_id")["country"].to_dict()
    for country, plan in runner.agreed.plans.items():
        assert plan.command.country == country and plan.command.scope == "national"
        assert plan.assignments, f"{country} plans no shift"
        assert {country_of[a.unit_id] for a in plan.assignments} == {country}
        # and works only where its view reaches: its regions and its agreements'
        view = region_level(knowledge.regions, knowledge.resources, country)
        assert {a.region_id for a in plan.assignments} <= view
        assert any(region_country[a.region_id] == country for a in plan.assignments)
        # what it read of its partners' plans: their effort in the regions both read
        for row in runner.agreed.inputs[country].fixed_effort:
            if row.source == PUBLISHED:
                assert row.region_id in shared_regions(knowledge.resources, country, row.country)
                assert row.region_id in view


def test_partners_read_each_others_planned_effort_in_agreement_regions(planned) -> None:
    runner, knowledge, _ = planned
    assert runner.agreed is not None
    read = {
        (country, row.country)
        for country, given in runner.agreed.inputs.items()
        for row in given.fixed_effort
        if row.source == PUBLISHED
    }
    # every pair that reads is a pair of partners, and some partners do read
    assert read
    for country, partner in read:
        assert shared_regions(knowledge.resources, country, partner)


def test_an_operation_launches_only_where_every_party_pledged(planned) -> None:
    runner, _, _ = planned
    agreed = runner.agreed
    assert agreed is not None
    assert {d.operation_id for d in agreed.decisions} == {"JO-1", "JO-2"}
    for decision in agreed.decisions:
        assert decision.launched == all(a.pledged for a in decision.answers)
        for answer in decision.answers:
            assert answer.pledged == (
                answer.with_value is not None and answer.with_value >= answer.without_value
            )
            outcome = next(
                s
                for o, s in agreed.plans[answer.country].operation_periods()
                if (o.operation_id, s.period) == (decision.operation_id, decision.period)
            )
            # a party's final plan launches it exactly when every party pledged
            assert outcome.launched == outcome.confirmed == decision.launched
    assert runner.launched_operations == len(agreed.launched())


def test_the_world_gets_every_countrys_own_shifts_boosted_where_launched(planned) -> None:
    runner, knowledge, effort = planned
    assert runner.agreed is not None
    eff = {u.unit_id: u.efficiency for u in knowledge.resources.units}
    own = dict.fromkeys(effort, 0.0)
    for plan in runner.agreed.plans.values():
        for a in plan.assignments:
            own[a.region_id] += eff[a.unit_id] * a.shifts
    boost = dict.fromkeys(effort, 1.0)
    launched = {d.operation_id for d in runner.agreed.launched()}
    for op in knowledge.resources.joint_operations:
        if op.operation_id in launched:
            for r in op.regions:
                boost[r] += op.effort_multiplier - 1.0
    # the pledges each plan counted as fixed effort are the partners' own shifts: not twice
    assert effort == pytest.approx({r: own[r] * boost[r] for r in effort})


def test_the_three_policies_are_reported_side_by_side(tmp_path: Path) -> None:
    policies = ("crossplan", "federated", "federated_no_jo")
    config = EvaluationConfig(seeds=(SEED,), rounds=1, policies=policies, **SMALL)
    runs = [run_policy(config, SEED, p) for p in policies]
    ev = summarize_runs(config, runs)
    results = ev.to_json()
    assert set(results["policies"]) == set(policies)
    assert results["policies"]["crossplan"]["share_of_central"] == pytest.approx(1.0)
    no_jo = results["policies"]["federated_no_jo"]
    assert no_jo["joint_operations"] == 0
    for name in ("federated", "federated_no_jo"):
        assert 0 < results["policies"][name]["share_of_central"] < 1.5
    text = write_report(ev, tmp_path / "eval.md")[0].read_text()
    for name in policies:
        assert f"| {name} |" in text
    assert "federated intercepts ≥ 95% of the central plan" in text
    assert np.isfinite(results["policies"]["federated"]["forecast_deviance"])
