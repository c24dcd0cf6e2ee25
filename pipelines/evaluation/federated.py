"""The federated policy: each country plans its own units on its own view of the panel.

Beside the central plan (one planner commands every unit with the whole panel), the
federated policy is what command by ownership gives: every country is a national
coordination centre (:class:`~optimize.command.Command` of scope ``national``) that

* reads its **view** of the panel: the cells of the regions it reads region by region
  (:func:`pipelines.views.region_level`: its own and those its agreements cover — the rule
  of the service's views), on which it fits its own forecaster and forecasts them only;
  a region outside its view counts as no activity in its plans;
* plans only its own units (they may still work the agreement regions its partners plan
  for too: nobody coordinates that);
* launches a joint operation only where every party pledges by the pledging rule
  (:mod:`pipelines.evaluation.pledging`), ``federated``; or never, ``federated_no_jo``.

The world sees the pooled effort of every country's units, efficiency-weighted, times the
multiplier of every operation launched there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossplan.models import RiskForecaster
from crossplan.optimize import Inputs, Plan, plan_allocation
from crossplan.optimize.command import Command
from crossplan.optimize.score import effort_multipliers
from crossplan.pipelines.evaluation.knowledge import Knowledge, deviance, fit_forecaster
from crossplan.pipelines.evaluation.pledging import Agreed, agree
from crossplan.pipelines.views import region_level

__all__ = ["FEDERATED", "FederatedRunner", "pooled_effort"]

# Policy name → whether joint operations are agreed by pledges.
FEDERATED = {"federated": True, "federated_no_jo": False}


@dataclass
class FederatedRunner:
    """Every country plans its own units on its own view; :meth:`plan` returns the pooled
    effective effort per region for one period.

    ``forecast_error`` is the mean Poisson deviance, against the true activity, of the
    forecasts each country made of its own regions; ``agreed`` the last period's plans and
    pledging decisions; ``launched_operations`` how many operations launched in it.
    """

    name: str
    joint_operations: bool
    retrain_every: int = 4
    solver: str = "cbc"
    mip_gap: float = 0.005
    time_limit: float = 30.0
    effort_aware: bool = True
    model_params: Mapping[str, Any] = field(default_factory=dict)
    _models: dict[str, RiskForecaster] = field(default_factory=dict)
    _round: int = 0
    forecast_error: float | None = None
    agreed: Agreed | None = None
    launched_operations: int = 0

    def plan(self, knowledge: Knowledge) -> dict[str, float]:
        countries = sorted({u.country for u in knowledge.resources.units})
        forecasts = {c: self._forecast(knowledge, c) for c in countries}
        inputs = {c: self._inputs(knowledge, c, forecasts[c]) for c in countries}
        if self.joint_operations:
            self.agreed = agree(inputs, self._solve)
        else:
            self.agreed = Agreed({c: self._solve(i) for c, i in inputs.items()})
        launched = self.agreed.launched()
        self.launched_operations = len(launched)
        own = pd.concat(
            [f[f["region_id"].isin(_own_regions(knowledge, c))] for c, f in forecasts.items()]
        )
        self.forecast_error = deviance(own, knowledge.next_activity)
        self._round += 1
        ids = {d.operation_id for d in launched}
        return pooled_effort(next(iter(inputs.values())), self.agreed.plans.values(), ids)

    def _forecast(self, knowledge: Knowledge, country: str) -> pd.DataFrame:
        """The country's forecast of the regions of its view, from its view only."""
        view = region_level(knowledge.regions, knowledge.resources, country)
        panel = knowledge.panel[knowledge.panel["region_id"].isin(view)]
        if country not in self._models or self._round % self.retrain_every == 0:
            regions = knowledge.regions[knowledge.regions["region_id"].isin(view)]
            adjacency = knowledge.adjacency[
                knowledge.adjacency["region_id"].isin(view)
                & knowledge.adjacency["neighbour_id"].isin(view)
            ]
            self._models[country] = fit_forecaster(
                panel, regions, adjacency, self.effort_aware, self.model_params
            )
        return self._models[country].predict(panel, horizon=1)

    def _inputs(self, knowledge: Knowledge, country: str, forecast: pd.DataFrame) -> Inputs:
        return Inputs.from_resources(
            knowledge.resources,
            knowledge.regions,
            forecast,
            horizon=1,
            command=Command(country=country, scope="national"),
        )

    def _solve(self, inputs: Inputs) -> Plan:
        plan = plan_allocation(
            inputs, solver=self.solver, gap=self.mip_gap, time_limit=self.time_limit
        )
        if not plan.feasible:
            raise RuntimeError(
                f"{self.name}, {inputs.command.planner}: no feasible plan:\n{plan.diagnosis_text()}"
            )
        return plan


def pooled_effort(inputs: Inputs, plans: Iterable[Plan], launched: set[str]) -> dict[str, float]:
    """Effective effort per region in the first planned period: every plan's own
    assignments together (fixed effort in a plan stands for another plan's shifts, so it is
    not counted twice), times the multipliers of the ``launched`` operations.

    Parameters
    ----------
    inputs
        Inputs of any of the plans (for the regions, units and joint operations).
    plans
        The plans.
    launched
        Ids of the joint operations launched in that period.
    """
    period = inputs.periods[0]
    efficiency = {u.unit_id: u.efficiency for u in inputs.units}
    index = inputs.regions.index
    effort = np.zeros(len(index))
    for plan in plans:
        for a in plan.assignments:
            if a.period == period:
                effort[index[a.region_id]] += efficiency[a.unit_id] * a.shifts
    on = np.zeros((len(inputs.joint_operations), len(inputs.periods)), dtype=bool)
    on[:, 0] = [op.operation_id in launched for op in inputs.joint_operations]
    mult = effort_multipliers(inputs, on)[:, 0]
    return dict(zip(inputs.regions.region_ids, (effort * mult).tolist(), strict=True))


def _own_regions(knowledge: Knowledge, country: str) -> pd.Series:
    regions = knowledge.regions
    return regions.loc[regions["country"] == country, "region_id"]
