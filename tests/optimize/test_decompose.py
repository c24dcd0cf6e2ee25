"""Block by block: the same plan value as the whole model, an honest bound, a kept time limit."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crossplan.optimize import Inputs, Plan, build_problem
from crossplan.optimize.allocate import plan_allocation
from crossplan.optimize.blocks import find_blocks, waves
from crossplan.optimize.bounds import relaxed_bound
from crossplan.optimize.build import inputs_curves
from crossplan.optimize.plan import Status
from crossplan.optimize.solve import solve
from crossplan.optimize.synthetic import random_inputs

GAP = 0.01


def _whole(inputs: Inputs, solver: str) -> Plan:
    return solve(build_problem(inputs), solver, gap=GAP / 10)


def _shifts(plan: Plan) -> set[tuple[str, str, str, int]]:
    return {(a.unit_id, a.region_id, a.period, a.shifts) for a in plan.assignments}


def _keeps_the_rules(inputs: Inputs, plan: Plan) -> None:
    """Capacity and reach of every unit, and each launched operation's commitments."""
    units = {u.unit_id: k for k, u in enumerate(inputs.units)}
    regions = inputs.regions.index
    used: dict[tuple[str, str], int] = {}
    for a in plan.assignments:
        assert inputs.eligibility.matrix[units[a.unit_id], regions[a.region_id]]
        used[(a.unit_id, a.period)] = used.get((a.unit_id, a.period), 0) + a.shifts
    for (unit_id, _), shifts in used.items():
        assert shifts <= inputs.units[units[unit_id]].shifts_per_period
    for op, state in plan.operation_periods():
        if state.launched:
            need = next(
                j.min_shifts_per_country
                for j in inputs.joint_operations
                if j.operation_id == op.operation_id
            )
            assert all(state.commitments[c] >= need for c in state.commitments)


@pytest.mark.parametrize(
    ("border_km", "split_above", "shared"),
    [
        (0.0, 10**9, False),  # no agreement, no operation: each country a block of its own
        (45.0, 0, True),  # agreements and operations: one block per country, fix-and-optimize
    ],
)
def test_blocks_plan_as_well_as_the_whole_model(
    solver: str, border_km: float, split_above: int, shared: bool
) -> None:
    inputs = random_inputs(72, 15, 2, n_countries=3, border_km=border_km, seed=3)
    blocks = find_blocks(inputs, split_above)
    assert len(blocks) == 3
    assert any(b.shared.any() for b in blocks) is shared
    whole = _whole(inputs, solver)
    parts = plan_allocation(inputs, solver, gap=GAP, split_above=split_above)
    assert parts.gap is not None and parts.gap <= GAP
    assert parts.status in (Status.OPTIMAL, Status.FEASIBLE)
    # Within the gap of the whole model's optimum, and its bound above it.
    assert abs(parts.objective - whole.objective) <= GAP * whole.objective
    assert parts.upper_bound is not None and parts.upper_bound >= whole.objective
    _keeps_the_rules(inputs, parts)


def test_a_wave_holds_blocks_that_share_nothing() -> None:
    inputs = random_inputs(150, 30, 2, n_countries=5, seed=3)
    blocks = find_blocks(inputs, 0)
    order = waves(blocks)
    assert sorted(k for wave in order for k in wave) == list(range(len(blocks)))
    assert max(len(wave) for wave in order) >= 2  # some blocks can be solved at once
    for wave in order:
        for a in wave:
            for b in wave:
                if a != b:
                    assert not np.intersect1d(blocks[a].regions, blocks[b].regions).size
                    assert not np.intersect1d(blocks[a].operations, blocks[b].operations).size
    # blocks that share no region with any other all go together
    alone = find_blocks(random_inputs(72, 15, 2, n_countries=3, border_km=0.0, seed=3), 10**9)
    assert waves(alone) == [[0, 1, 2]]


@pytest.mark.parametrize(("border_km", "split_above"), [(0.0, 10**9), (45.0, 0)])
def test_blocks_solved_at_once_give_the_plan_solved_in_turn(
    solver: str, border_km: float, split_above: int
) -> None:
    inputs = random_inputs(150, 30, 2, n_countries=5, border_km=border_km, seed=3)
    plans = [
        plan_allocation(inputs, solver, gap=GAP, split_above=split_above, workers=workers)
        for workers in (1, 3)
    ]
    turn, at_once = (_shifts(p) for p in plans)
    assert at_once == turn
    assert plans[1].objective == pytest.approx(plans[0].objective, rel=1e-12)
    assert plans[1].upper_bound == pytest.approx(plans[0].upper_bound, rel=1e-9)
    assert plans[1].status is plans[0].status
    _keeps_the_rules(inputs, plans[1])


def test_the_relaxed_lp_bounds_the_optimum() -> None:
    inputs = random_inputs(40, 8, 2, n_countries=2, seed=5)
    whole = _whole(inputs, "highs")
    bound = relaxed_bound(inputs, inputs_curves(inputs))
    assert bound is not None
    assert whole.piecewise_objective <= bound <= 1.01 * whole.piecewise_objective


def test_a_short_limit_is_kept_with_the_build_in_it(solver: str) -> None:
    inputs = random_inputs(1200, 180, 4, n_countries=6, seed=0)
    assert len(find_blocks(inputs, 0)) == 6
    began = time.monotonic()
    plan = plan_allocation(inputs, solver, time_limit=1.5, gap=GAP, split_above=0)
    assert time.monotonic() - began < 1.5 + 5
    assert plan.status is Status.TIME_LIMIT
    shifts = sum(a.shifts for a in plan.assignments)
    capacity = len(inputs.periods) * sum(u.shifts_per_period for u in inputs.units)
    assert shifts > 0.9 * capacity  # every unit's shifts are placed, even out of time
    assert plan.objective > np.max(list(plan.baselines.values()))
    _keeps_the_rules(inputs, plan)
