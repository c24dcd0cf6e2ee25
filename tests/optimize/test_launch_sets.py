"""A cap on launched operations: the period is solved once per largest launch set."""

from __future__ import annotations

import pandas as pd
import pytest

from crossplan.optimize import Inputs, Policy, Status, build_problem, plan_allocation
from crossplan.optimize.launch_sets import MAX_SETS, launch_sets
from crossplan.optimize.solve import solve
from crossplan.optimize.synthetic import random_inputs


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
        launched = [o for o, s in plan.operation_periods() if s.period == period and s.launched]
        assert len(launched) == 1
    # every launch variable may launch again once the sets are solved
    assert all(y.upBound == 1 for y in problem.launches.values())


def test_a_period_with_nothing_to_interdict_is_solved_by_launch_set(solver) -> None:
    # Found by the property test: with no activity anywhere each launch set's objective is
    # constant; CBC proved the empty plan optimal, yet the sets reported no plan at all.
    resources = {
        "units": [{"unit_id": "U0", "agency": "Police", "country": "AAA",
                   "shifts_per_period": 0, "cost_per_shift": 0.5, "efficiency": 0.7}],
        "agreements": [],
        "joint_operations": [{"operation_id": "JO-0", "countries": ["AAA", "BBB"],
                              "regions": ["r0"], "min_shifts_per_country": 0,
                              "effort_multiplier": 1.0}],
        "policy": {"budget": None, "min_shifts_per_region": 0, "max_share_per_region": None,
                   "risk_quantile": 0.1, "max_joint_operations_per_period": 0},
    }  # fmt: skip
    regions = pd.DataFrame(
        {"region_id": ["r0", "r1"], "country": ["AAA", "BBB"], "lon": [20.0, 20.4],
         "lat": [45.0, 45.0]}
    )  # fmt: skip
    forecast = pd.DataFrame(
        {"region_id": ["r0", "r1"], "category": ["c1", "c1"],
         "period": [pd.Timestamp("2026-03-02")] * 2, "activity_mean": [0.0, 0.0],
         "activity_q10": [0.0, 0.0], "activity_q50": [0.0, 0.0], "activity_q90": [0.0, 0.0],
         "detection_rate": [0.05, 0.05]}
    )  # fmt: skip
    inputs = Inputs.from_resources(resources, regions, forecast)
    assert launch_sets(1, 0) == [()]  # the launch-set path: one empty set
    plan = plan_allocation(inputs, solver)
    assert plan.status is Status.OPTIMAL
    assert plan.objective == 0.0 and plan.upper_bound == 0.0 and plan.gap == 0.0
    assert not plan.assignments
    assert [s.launched for _, s in plan.operation_periods()] == [False]
