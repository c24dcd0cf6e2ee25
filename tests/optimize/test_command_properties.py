"""Property: a plan restricted to one country's units is feasible whenever its own
constraints are — the joint operations it shares with other countries never stop it.

"Its own constraints" are the same plan without joint operations: capacities, budget,
floors and share caps of the units it commands. Other countries' parts of an operation are
theirs to pledge; pledged (fixed effort) they let it launch, missing they leave it out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from crossplan.optimize import InputError, Policy, plan_allocation
from crossplan.optimize.command import Command, FixedEffort
from crossplan.optimize.synthetic import random_inputs


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,  # the same instances every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    seed=st.integers(0, 10_000),
    n_countries=st.integers(2, 3),
    which=st.integers(0, 2),
    national=st.booleans(),
    floor=st.sampled_from([0, 0, 1, 2]),
    budget=st.sampled_from([None, None, 12.0, 30.0]),
    share=st.sampled_from([None, None, 0.5]),
    pledge=st.sampled_from([0, 0, 2, 6]),
)
def test_a_country_alone_plans_whenever_its_own_constraints_allow(
    seed: int,
    n_countries: int,
    which: int,
    national: bool,
    floor: int,
    budget: float | None,
    share: float | None,
    pledge: int,
) -> None:
    policy = Policy(
        min_shifts_per_region=floor,
        budget=budget,
        max_share_per_region=share,
        mip_gap=0.01,
        time_limit_s=5.0,  # a hard draw returns its best plan in time: still a plan
    )
    try:
        inputs = random_inputs(16, 6, 2, n_countries=n_countries, policy=policy, seed=seed)
    except InputError:
        reject()  # a country drawn without a region: no instance
    country = sorted({u.country for u in inputs.units})[which % n_countries]
    agency = next(u.agency for u in inputs.units if u.country == country)
    command = Command(country=country, agency=agency, scope="national" if national else "agency")
    # Each other party pledges ``pledge`` shifts in the first region of each operation.
    pledges = tuple(
        FixedEffort(
            region_id=op.regions[0], period=dt.date.fromisoformat(p), country=c, shifts=pledge
        )
        for op in inputs.joint_operations
        for c in op.countries
        if c != country and pledge
        for p in inputs.periods
    )
    mine = dataclasses.replace(inputs, command=command, fixed_effort=pledges)
    alone = plan_allocation(dataclasses.replace(mine, joint_operations=()))
    event(f"own constraints {'met' if alone.feasible else 'not met'}")
    if not alone.feasible:
        return
    plan = plan_allocation(mine)
    assert plan.feasible, plan.diagnosis_text()
    assert plan.binding
    commanded = {u.unit_id for u in inputs.units if command.commands(u)}
    assert {a.unit_id for a in plan.assignments} <= commanded
    need = {op.operation_id: op.min_shifts_per_country for op in inputs.joint_operations}
    for operation, outcome in plan.operation_periods():
        if outcome.launched:
            event("an operation launched")
            assert min(outcome.commitments.values()) >= need[operation.operation_id]
        else:
            assert outcome.reason
