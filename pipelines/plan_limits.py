"""How large and how long one plan may be: :class:`PlanLimits`, and the service's.

The service's sizes are measured, not guessed: ``python -m benchmarks.bench_optimize --scale``
plans seeded instances of 500 to 50,000 regions on the service's machine (two cores), and
docs/design.md ("Service limits") keeps the table and how each default below follows from
it. An operator on another machine measures there and sets ``CROSSPLAN_PLAN_MAX_UNITS``,
``CROSSPLAN_PLAN_MAX_CELLS`` and ``CROSSPLAN_PLAN_MEMORY_MB`` (:mod:`serving.settings`).
This module imports nothing heavy, so the settings can read its defaults.
"""

from __future__ import annotations

import dataclasses

__all__ = ["MAX_TIME_LIMIT_S", "SERVICE_LIMITS", "PlanLimits"]

MAX_TIME_LIMIT_S = 600.0


@dataclasses.dataclass(frozen=True)
class PlanLimits:
    """How large and how long one plan may be.

    Attributes
    ----------
    max_units, max_joint_operations
        Most units and joint-operation candidates in the resources.
    max_cells
        Most units × regions × periods: the shift variables before eligibility prunes
        them, which is what the plan's arrays take.
    memory_mb
        Memory one plan may use (MiB): its process is capped there.
    max_time_limit_s
        Cap on the time limit, whether the request or the policy sets it.
    default_time_limit_s, min_time_limit_s
        The time limit when neither sets one, and the shortest one.
    """

    # The largest instance of the scale benchmark that CBC and HiGHS both planned within 1%
    # in its 60 s, quiet and beside a busy process: 10,000 regions × 1,500 units × 4 periods
    # (0.32% each time; 50,000 regions need 300 s). See docs/design.md, "Service limits".
    max_units: int = 1_500
    max_joint_operations: int = 50
    max_cells: int = 60_000_000
    # Its peak memory was 784 MiB; half as much again is 1,176 MiB, under what a plan's
    # process already needed (its memory cap counts the heap it inherits from the service),
    # so the cap stays at 1,536 MiB.
    memory_mb: int = 1_536
    max_time_limit_s: float = MAX_TIME_LIMIT_S
    # When neither the request nor the policy sets one.
    default_time_limit_s: float = 30.0
    # Below it, not even a small plan can be made.
    min_time_limit_s: float = 1.0


# The limits of a plan requested over HTTP (the command line has none).
SERVICE_LIMITS = PlanLimits()
