"""Plans shared in agreement regions: how partners stop duplicating each other's effort.

Two partners plan the regions their agreement covers, both reading them region by region.
Each plans its own units on its own forecast; without knowing where the other's shifts go,
both send shifts to the same hot agreement region and leave gaps elsewhere. The rule here
is what partners can do under the sharing rules:

* **what is published** (:func:`published`): a country's planned shifts in the regions an
  agreement covers with a partner — per region and period, their effective
  (efficiency-weighted) effort — go to that partner, and nothing else: no counts, no
  forecast, no figure of its plan, no shift in a region the partner does not read;
* **what a partner does with them**: it counts them as fixed effort
  (:class:`~optimize.command.FixedEffort`), effort already there that its plan can neither
  move nor take away, and plans its own units around them;
* **best-response rounds** (:func:`coordinate`): countries re-plan in turn, in the order of
  their codes (Gauss–Seidel: each reads the latest plans of the others), for at most
  ``rounds`` sweeps, stopping early after a sweep in which no country's plan changed. The
  first country of the first sweep plans alone; every later plan reads every partner's.

Each country still maximises its own expected interdictions on its own view: when partners
forecast alike, every re-plan raises the interdictions expected of their pooled effort in
the shared regions, so the sweeps settle in a few rounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date

from crossplan.optimize import Inputs, Plan
from crossplan.optimize.command import FixedEffort
from crossplan.optimize.resources import Resources

__all__ = ["PUBLISHED", "coordinate", "published", "shared_regions", "without_published"]

Solve = Callable[[Inputs], Plan]

# The source of a published row: a partner's planned shifts, not a pledge.
PUBLISHED = "planned shifts"


def shared_regions(resources: Resources, country: str, partner: str) -> frozenset[str]:
    """The regions an agreement covers with both ``country`` and ``partner``: both read them
    region by region (:func:`pipelines.views.region_level`)."""
    shared: set[str] = set()
    for agreement in resources.agreements:
        if country in agreement.countries and partner in agreement.countries:
            shared |= set(agreement.regions)
    return frozenset(shared)


def published(plan: Plan, inputs: Inputs, regions: Iterable[str]) -> list[FixedEffort]:
    """What ``plan``'s country publishes to a partner with whom it shares ``regions``: the
    effective effort of its shifts there per region and period (sorted).

    Parameters
    ----------
    plan
        The publishing country's plan.
    inputs
        Its inputs (for its units' efficiency).
    regions
        The regions it shares with the partner (:func:`shared_regions`).
    """
    country = inputs.command.country
    if country is None:
        raise ValueError("the operator's plan binds no one: it publishes nothing")
    shared = set(regions)
    efficiency = {u.unit_id: u.efficiency for u in inputs.units}
    cells: dict[tuple[str, str], float] = {}
    for a in plan.assignments:
        if a.region_id in shared and a.shifts > 0:
            cell = (a.region_id, a.period)
            cells[cell] = cells.get(cell, 0.0) + efficiency[a.unit_id] * a.shifts
    # No shift of the row counts toward a joint operation: planned shifts are not pledged,
    # and a plan must not launch an operation on a partner's plan alone.
    return [
        FixedEffort(
            region_id=r,
            period=date.fromisoformat(p),
            country=country,
            shifts=0,
            effort=effort,
            source=PUBLISHED,
        )
        for (r, p), effort in sorted(cells.items())
    ]


def without_published(inputs: Inputs) -> Inputs:
    """``inputs`` less the partners' published shifts (their pledges and the rest kept)."""
    kept = tuple(f for f in inputs.fixed_effort if f.source != PUBLISHED)
    return replace(inputs, fixed_effort=kept)


def coordinate(
    inputs: Mapping[str, Inputs],
    solve: Solve,
    resources: Resources,
    rounds: int = 3,
    plans: Mapping[str, Plan] | None = None,
) -> tuple[dict[str, Inputs], dict[str, Plan]]:
    """Best-response rounds (module docstring) from ``plans`` (none: the first country plans
    alone); the inputs each final plan was made on (the partners' published shifts as fixed
    effort) and the plans.

    Parameters
    ----------
    inputs
        Per country, the inputs of its own national plan; fixed effort of a source other than
        :data:`PUBLISHED` (pledges) is kept, published rows are replaced by the latest.
    solve
        Makes a plan of inputs.
    resources
        The resources, whose agreements say which regions two countries share.
    rounds
        Most sweeps over the countries.
    plans
        Plans to start from, per country.
    """
    order = sorted(inputs)
    base = {c: without_published(inputs[c]) for c in order}
    shared = {(c, p): shared_regions(resources, c, p) for c in order for p in order if p != c}
    current = dict(plans or {})
    made = dict(inputs)
    for _ in range(rounds):
        changed = False
        for c in order:
            rows = [
                row
                for p in order
                if p != c and p in current and shared[(c, p)]
                for row in published(current[p], base[p], shared[(c, p)])
            ]
            trial = replace(base[c], fixed_effort=(*base[c].fixed_effort, *rows))
            if c in current and trial.fixed_effort == made[c].fixed_effort:
                continue  # nothing new to read: its plan stands
            plan = solve(trial)
            changed |= c not in current or _shifts(plan) != _shifts(current[c])
            current[c], made[c] = plan, trial
        if not changed:
            break
    return made, current


def _shifts(plan: Plan) -> set[tuple[str, str, str, int]]:
    return {(a.unit_id, a.region_id, a.period, a.shifts) for a in plan.assignments}
