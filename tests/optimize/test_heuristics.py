"""The greedy start: feasible, close to the optimum, and honest when it cannot help."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crossplan.optimize import Inputs, Policy, plan_allocation
from crossplan.optimize.heuristics import greedy_allocation
from crossplan.optimize.score import (
    Allocation,
    commitments,
    cost_by_period,
    score,
    shifts_by_region,
    shifts_by_unit,
)
from crossplan.optimize.synthetic import random_inputs


@pytest.mark.parametrize(
    ("policy", "seed"),
    [
        (Policy(), 0),  # joint operations only
        (Policy(budget=30.0), 1),  # a budget that binds
        (Policy(min_shifts_per_region=1), 2),  # floors
        (Policy(max_share_per_region=0.15), 3),  # a share cap
        (Policy(max_joint_operations_per_period=1), 4),  # one operation per period
    ],
)
def test_greedy_is_feasible_and_near_the_optimum(policy, seed) -> None:
    inputs = random_inputs(30, 12, 2, n_countries=3, policy=policy, seed=seed)
    alloc = greedy_allocation(inputs)
    assert alloc is not None
    _assert_feasible(inputs, policy, alloc)
    greedy = float(score(inputs, alloc).sum())
    best = plan_allocation(inputs).objective
    assert best is not None and greedy >= 0.97 * best


def _assert_feasible(inputs: Inputs, policy: Policy, alloc: Allocation) -> None:
    assert np.all(alloc.shifts == np.round(alloc.shifts)) and np.all(alloc.shifts > 0)
    assert inputs.eligibility.matrix[alloc.unit, alloc.region].all()
    cap = np.array([u.shifts_per_period for u in inputs.units])
    assert np.all(shifts_by_unit(inputs, alloc) <= cap[:, None])
    per_region = shifts_by_region(inputs, alloc)
    assert np.all(per_region >= policy.min_shifts_per_region)
    if policy.budget is not None:
        assert np.all(cost_by_period(inputs, alloc) <= policy.budget + 1e-9)
    if policy.max_share_per_region is not None:
        assert np.all(per_region <= policy.max_share_per_region * per_region.sum(axis=0) + 1e-9)
    for (j, _), committed in commitments(inputs, alloc).items():
        need = inputs.joint_operations[j].min_shifts_per_country
        assert np.all(committed[alloc.launched[j]] >= need)
    limit = policy.max_joint_operations_per_period
    assert limit is None or np.all(alloc.launched.sum(axis=0) <= limit)


def test_past_its_deadline_the_greedy_ends_in_bulk_with_a_feasible_plan() -> None:
    policy = Policy(min_shifts_per_region=1)
    inputs = random_inputs(40, 60, 2, n_countries=3, policy=policy, seed=5)
    full = greedy_allocation(inputs)
    cut = greedy_allocation(inputs, deadline=time.monotonic())  # already passed
    assert full is not None and cut is not None
    _assert_feasible(inputs, policy, cut)  # floors and commitments come first
    # Then each unit's spare shifts go in one step where its next one gains most.
    assert 0 < cut.shifts.sum() <= full.shifts.sum()
    assert len(cut.shifts) < len(full.shifts)
    assert score(inputs, cut).sum() < score(inputs, full).sum()


def test_a_plan_past_its_deadline_is_the_start_the_solver_had_time_for() -> None:
    inputs = random_inputs(40, 60, 2, n_countries=3, policy=Policy(min_shifts_per_region=1))
    plan = plan_allocation(inputs, deadline=time.monotonic())
    assert plan.status == "time_limit"  # a plan all the same, not an error
    assert plan.objective is not None and plan.objective > 0


def test_greedy_gives_up_when_it_cannot_meet_the_floors() -> None:
    inputs = random_inputs(30, 4, 1, n_countries=2, policy=Policy(min_shifts_per_region=3))
    assert greedy_allocation(inputs) is None


def test_synthetic_instances_are_reproducible() -> None:
    a, b = random_inputs(20, 6, 2, seed=11), random_inputs(20, 6, 2, seed=11)
    assert [u.home_region for u in a.units] == [u.home_region for u in b.units]
    assert np.array_equal(a.activity, b.activity)
    assert a.recent_counts == b.recent_counts
    assert random_inputs(20, 6, 2, seed=12).recent_counts != a.recent_counts
