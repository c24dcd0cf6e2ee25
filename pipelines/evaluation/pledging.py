"""The pledging rule: a joint operation launches where every party expects to gain by it.

In the federated policy each country plans its own units (national scope) on its own view
of the panel, and no one can launch a joint operation for the others. For each candidate
operation, taken in the order of its id, and each planned period, every party asks its own
plan on its own forecast two questions:

* **without**: the value (exact expected interdictions) of its plan as it stands — with the
  operations already agreed in that period, without this one;
* **with**: the value of its plan with this operation confirmed — its own need
  (``min_shifts_per_country``) reserved on named units of its own (:func:`reservation`: the
  units its plan already puts in the operation's regions first, within what the
  operations agreed before left of their shifts), and each other party's need as fixed
  effort spread evenly over the operation's regions (:func:`partners_pledges`).

A party **pledges** when *with* ≥ *without*: a tie pledges (joining costs it nothing it
expects to need). It declines when its units cannot give its need, when the plan with the
operation has no feasible solution, or when *with* < *without*. The operation **launches**
in that period only when every party pledges; then each party's plan *with* it is its plan
from there on, and the next operation is weighed against it. Values are the solver's
(within the evaluation's relative gap), so a *with* below *without* by less than that gap
declines too: the rule is the one a party applying it would see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from crossplan.optimize import Inputs, Plan
from crossplan.optimize.command import Confirmed, FixedEffort
from crossplan.optimize.resources import JointOperation

__all__ = ["Agreed", "Answer", "Decision", "agree", "partners_pledges", "reservation"]

Solve = Callable[[Inputs], Plan]


@dataclass(frozen=True)
class Answer:
    """One party's answer to one operation in one period.

    ``with_value`` is ``None`` when the party could not evaluate the operation (its units
    cannot give its need); ``reason`` says why it declined, ``None`` when it pledged.
    """

    country: str
    pledged: bool
    without_value: float
    with_value: float | None
    reason: str | None = None


@dataclass(frozen=True)
class Decision:
    """The parties' answers to one operation in one period."""

    operation_id: str
    period: str
    answers: tuple[Answer, ...]

    @property
    def launched(self) -> bool:
        """Whether every party pledged."""
        return all(a.pledged for a in self.answers)


@dataclass
class Agreed:
    """What the parties agreed in the planned periods: each country's final plan (its
    reservations confirmed, the others' pledges as fixed effort) and every decision."""

    plans: dict[str, Plan]
    decisions: list[Decision] = field(default_factory=list)

    def launched(self) -> list[Decision]:
        """The decisions that launched their operation."""
        return [d for d in self.decisions if d.launched]


def agree(inputs: Mapping[str, Inputs], solve: Solve) -> Agreed:
    """Apply the pledging rule (module docstring) to every candidate joint operation.

    Parameters
    ----------
    inputs
        Per country, the inputs of its own national plan (its command, its forecast); they
        hold the same joint operations and periods.
    solve
        Makes a plan of inputs (the evaluation's solver and limits).
    """
    plans = {c: solve(i) for c, i in inputs.items()}
    agreement = Agreed(plans)
    if not inputs:
        return agreement
    first = next(iter(inputs.values()))
    for period in first.periods:
        reserved: dict[str, dict[str, int]] = {c: {} for c in inputs}  # unit → shifts
        for op in sorted(first.joint_operations, key=lambda o: o.operation_id):
            if not set(op.countries) <= set(inputs):
                continue  # a party that does not plan here cannot pledge
            decision, trials = _ask(op, period, inputs, agreement.plans, reserved, solve)
            agreement.decisions.append(decision)
            if not decision.launched:
                continue
            for c, (plan, trial) in trials.items():
                agreement.plans[c] = plan
                inputs = {**inputs, c: trial}
                for unit_id, n in trial.confirmed[-1].reserved.items():
                    reserved[c][unit_id] = reserved[c].get(unit_id, 0) + n
    return agreement


def _ask(
    op: JointOperation,
    period: str,
    inputs: Mapping[str, Inputs],
    plans: Mapping[str, Plan],
    reserved: Mapping[str, Mapping[str, int]],
    solve: Solve,
) -> tuple[Decision, dict[str, tuple[Plan, Inputs]]]:
    """Every party's answer to ``op`` in ``period``, and the plans with it of those that
    pledged."""
    answers, trials = [], {}
    day = date.fromisoformat(period)
    for c in op.countries:
        without = float(plans[c].objective or 0.0)
        units = reservation(inputs[c], plans[c], op, period, reserved[c])
        if units is None:
            short = f"{c}'s units cannot give the {op.min_shifts_per_country} shifts it needs"
            answers.append(Answer(c, False, without, None, short))
            continue
        base = inputs[c]
        confirmed = Confirmed(operation_id=op.operation_id, period=day, reserved=units)
        trial = replace(
            base,
            confirmed=(*base.confirmed, confirmed),
            fixed_effort=(*base.fixed_effort, *partners_pledges(op, day, c)),
        )
        plan = solve(trial)
        if not plan.feasible:
            answers.append(Answer(c, False, without, None, "no feasible plan with it"))
            continue
        value = float(plan.objective or 0.0)
        pledged = value >= without
        reason = None if pledged else f"expects {value:.3f} with it, {without:.3f} without"
        answers.append(Answer(c, pledged, without, value, reason))
        if pledged:
            trials[c] = (plan, trial)
    return Decision(op.operation_id, period, tuple(answers)), trials


def reservation(
    inputs: Inputs,
    plan: Plan,
    op: JointOperation,
    period: str,
    taken: Mapping[str, int] | None = None,
) -> dict[str, int] | None:
    """Units of the planning country and the shifts each pledges to ``op`` in ``period``:
    ``min_shifts_per_country`` in all, first from the units ``plan`` already puts in the
    operation's regions (most shifts there first), then from the others that may work there
    (most shifts left first), each within its capacity less what ``taken`` already holds;
    ``None`` when they cannot give that many."""
    taken = taken or {}
    country = inputs.command.country
    regions = set(op.regions)
    cols = sorted(inputs.regions.index[r] for r in regions)
    may = np.asarray(inputs.eligibility.matrix[:, cols].any(axis=1), dtype=bool)
    there: dict[str, int] = {}
    for a in plan.assignments:
        if a.period == period and a.region_id in regions:
            there[a.unit_id] = there.get(a.unit_id, 0) + a.shifts
    left = {
        u.unit_id: u.shifts_per_period - taken.get(u.unit_id, 0)
        for i, u in enumerate(inputs.units)
        if may[i] and u.country == country
    }
    order = sorted(left, key=lambda u: (-there.get(u, 0), -left[u], u))
    need, out = op.min_shifts_per_country, {}
    for unit_id in order:
        if need <= 0:
            break
        n = min(need, left[unit_id])
        if n > 0:
            out[unit_id] = n
            need -= n
    return None if need > 0 else out


def partners_pledges(op: JointOperation, period: date, country: str) -> list[FixedEffort]:
    """What ``country`` counts on from the other parties of ``op``: each one's
    ``min_shifts_per_country`` spread evenly over the operation's regions (sorted; the first
    regions take the remainder), as fixed effort of efficiency 1."""
    regions = sorted(op.regions)
    need = op.min_shifts_per_country
    share = np.full(len(regions), need // len(regions))
    share[: need % len(regions)] += 1
    return [
        FixedEffort(
            region_id=r,
            period=period,
            country=p,
            shifts=int(n),
            source=f"{op.operation_id} pledge",
        )
        for p in op.countries
        if p != country
        for r, n in zip(regions, share, strict=True)
        if n > 0
    ]
