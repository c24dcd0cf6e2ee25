"""A cap on launched operations: the period is solved once per largest launch set."""

from __future__ import annotations

import pytest

from optimize import Policy, Status, build_problem
from optimize.launch_sets import MAX_SETS, launch_sets
from optimize.solve import solve
from optimize.synthetic import random_inputs


@pytest.mark.parametrize(
    ("n_operations", "limit", "expected"),
    [
        (3, None, None),  # no cap: the whole period at once
        (3, 3, None),  # a cap that allows every operation is no cap
        (3, 1, [(0,), (1,), (2,)]),  # one at most: each operation alone
        (4, 2, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]),  # pairs
        (3, 0, [()]),  # none may launch
        (10, 5, None),  # 252 sets: too many, solve whole
    ],
)
def test_launch_sets(n_operations, limit, expected) -> None:
    assert launch_sets(n_operations, limit) == expected


def test_max_sets_is_the_threshold() -> None:
    assert launch_sets(MAX_SETS, 1) is not None
    assert launch_sets(MAX_SETS + 1, 1) is None


def test_capped_plan_launches_at_most_the_cap_and_restores_the_model(solver) -> None:
    inputs = random_inputs(30, 12, 2, n_countries=3, seed=4,
                           policy=Policy(max_joint_operations_per_period=1))  # fmt: skip
    problem = build_problem(inputs)
    plan = solve(problem, solver)
    assert plan.status is Status.OPTIMAL and plan.gap is not None and plan.gap <= 0.005
    for period in plan.periods:
        launched = [o for o in plan.joint_operations if o.period == period and o.launched]
        assert len(launched) == 1
    # every launch variable may launch again once the sets are solved
    assert all(y.upBound == 1 for y in problem.launches.values())
