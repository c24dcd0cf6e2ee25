"""CBC and HiGHS: the same optimum within the gap, honest statuses, clean failures."""

from __future__ import annotations

import psutil
import pulp
import pytest

from crossplan.optimize import Policy, SolverError, Status, build_problem, plan_allocation
from crossplan.optimize.solve import solve
from crossplan.optimize.solver_runs import CBC_GRACE_S, run_solver
from crossplan.optimize.synthetic import random_inputs

GAP = 0.005


@pytest.mark.parametrize(
    ("size", "policy", "seed"),
    [
        ((30, 12, 2), Policy(), 0),  # joint operations, no policy limits
        ((30, 12, 1), Policy(budget=40.0), 1),  # a budget that binds
        ((24, 10, 1), Policy(min_shifts_per_region=1), 2),  # floors everywhere
        ((24, 10, 1), Policy(max_share_per_region=0.1), 3),  # a share cap
        ((40, 16, 1), Policy(max_joint_operations_per_period=2), 4),  # two operations at most
        ((30, 12, 2), Policy(max_joint_operations_per_period=1), 4),  # one at most, 2 periods
        ((40, 16, 1), Policy(risk_quantile=0.9), 5),  # planning on the 90% quantile
    ],
)
def test_cbc_and_highs_agree_within_the_gap(size, policy, seed) -> None:
    inputs = random_inputs(*size, n_countries=3, policy=policy, seed=seed)
    plans = {s: plan_allocation(inputs, s, gap=GAP) for s in ("cbc", "highs")}
    for plan in plans.values():
        assert plan.status is Status.OPTIMAL
        assert plan.gap is not None and plan.gap <= GAP + 1e-9
    cbc, highs = (plans[s].piecewise_objective for s in ("cbc", "highs"))
    assert cbc is not None and highs is not None
    # each is within the gap of the other's bound, so of each other
    assert abs(cbc - highs) <= GAP * max(cbc, highs) + 1e-9


def test_a_time_limited_run_is_never_reported_optimal(solver) -> None:
    inputs = random_inputs(200, 60, 2, seed=0)
    plan = solve(build_problem(inputs), solver, time_limit=0.01, gap=0.0)
    # the greedy start guarantees a plan; the solver had no time to prove it optimal, and
    # the gap is either unknown (no bound yet) or open
    assert plan.status is Status.TIME_LIMIT
    assert plan.objective is not None
    assert plan.gap is None or plan.gap > 0


def test_the_policy_time_limit_applies_when_the_call_gives_none(solver) -> None:
    inputs = random_inputs(200, 60, 1, policy=Policy(time_limit_s=0.01, mip_gap=0.0), seed=1)
    assert plan_allocation(inputs, solver).status is Status.TIME_LIMIT


def test_a_constant_objective_has_its_value_after_the_solve(solver) -> None:
    # PuLP solves a constant objective with a zero-coefficient "__dummy" term left behind,
    # which CBC never gives a value
    model = pulp.LpProblem("constant", pulp.LpMinimize)
    x = model.add_variable("x", lowBound=0, upBound=3, cat=pulp.LpInteger)
    model.addConstraint(pulp.LpConstraint(x, pulp.LpConstraintGE, rhs=1), "c_0")
    model.setObjective(pulp.LpAffineExpression(constant=2.0))
    for _ in range(2):  # the second solve starts from the term the first one left
        outcome = run_solver(model, solver)
        assert outcome.status is Status.OPTIMAL and outcome.has_solution
        assert outcome.objective == 2.0


def test_a_cbc_past_its_time_limit_and_grace_is_killed() -> None:
    # The root LP of this model takes CBC seconds, and CBC checks its limit only after it.
    inputs = random_inputs(60, 300, 1, n_countries=4, policy=Policy(min_shifts_per_region=1))
    model = build_problem(inputs).models[0]
    outcome = run_solver(model, "cbc", time_limit=0.05)
    assert outcome.status is Status.TIME_LIMIT and not outcome.has_solution
    assert f"stopped {CBC_GRACE_S:g} s past" in outcome.detail
    assert not [p for p in psutil.Process().children(recursive=True) if "cbc" in p.name()]


def test_unknown_solver_is_a_clear_error() -> None:
    inputs = random_inputs(10, 3, 1, n_countries=2, seed=0)
    with pytest.raises(SolverError, match="unknown solver 'gurobi'; use one of cbc, highs"):
        plan_allocation(inputs, "gurobi")


def test_solve_rejects_an_elastic_model() -> None:
    inputs = random_inputs(10, 3, 1, n_countries=2, seed=0)
    with pytest.raises(ValueError, match="elastic"):
        solve(build_problem(inputs, elastic=True))
