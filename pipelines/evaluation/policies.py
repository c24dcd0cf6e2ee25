"""The policies a closed-loop evaluation compares, each turning what it knows into effort.

``uniform`` and ``proportional`` are the simple rules agencies can apply by hand (the latter
is today's practice); ``naive`` and ``crossplan`` plan with the optimizer on a LightGBM
forecast, without and with effort awareness; ``oracle`` plans with the optimizer on the true
activity rates, the ceiling no forecast can beat. These plan centrally: one planner
commands every unit with the whole panel. ``federated`` and ``federated_no_jo`` let each
country plan its own units on its own view, with joint operations agreed by pledges or
without any (:mod:`pipelines.evaluation.federated`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crossplan.models import RiskForecaster
from crossplan.models.detection import DetectionModel
from crossplan.optimize import Inputs, plan_allocation
from crossplan.optimize.explain import proportional_allocation, uniform_allocation
from crossplan.optimize.score import effective_effort
from crossplan.pipelines.evaluation.federated import FEDERATED, FederatedRunner
from crossplan.pipelines.evaluation.knowledge import Knowledge, deviance, fit_forecaster

__all__ = ["POLICIES", "Knowledge", "PolicyRunner", "make_policy"]

POLICIES = ("uniform", "proportional", "naive", "crossplan", "oracle", *FEDERATED)


@dataclass
class PolicyRunner:
    """A planning policy; :meth:`plan` returns effective effort per region for one period.

    ``forecast_error`` is the last forecast's mean Poisson deviance against the true
    activity (model policies only), so an evaluation can follow forecast quality;
    ``launched_operations`` how many joint operations the last plan launched.
    """

    name: str
    retrain_every: int = 4
    solver: str = "cbc"
    mip_gap: float = 0.005
    time_limit: float = 30.0
    effort_aware: bool = True
    model_params: Mapping[str, Any] = field(default_factory=dict)
    _model: RiskForecaster | None = None
    _kappa: dict[str, float] | None = None
    _round: int = 0
    forecast_error: float | None = None
    launched_operations: int = 0

    def plan(self, knowledge: Knowledge) -> dict[str, float]:
        if self.name == "uniform":
            effort = self._rule(knowledge, proportional=False)
        elif self.name == "proportional":
            effort = self._rule(knowledge, proportional=True)
        elif self.name == "oracle":
            effort = self._optimise(knowledge, self._truth_forecast(knowledge))
        else:
            effort = self._optimise(knowledge, self._model_forecast(knowledge))
        self._round += 1
        return effort

    # -- rules ------------------------------------------------------------------------

    def _rule(self, knowledge: Knowledge, proportional: bool) -> dict[str, float]:
        inputs = self._inputs(knowledge, self._truth_forecast(knowledge))
        alloc = proportional_allocation(inputs) if proportional else uniform_allocation(inputs)
        assert alloc is not None  # recent counts are always given
        effort = effective_effort(inputs, alloc)[:, 0]
        return dict(zip(inputs.regions.region_ids, effort.tolist(), strict=True))

    # -- optimiser on a forecast -------------------------------------------------------

    def _optimise(self, knowledge: Knowledge, forecast: pd.DataFrame) -> dict[str, float]:
        plan = plan_allocation(
            self._inputs(knowledge, forecast),
            solver=self.solver,
            gap=self.mip_gap,
            time_limit=self.time_limit,
        )
        if not plan.feasible:
            raise RuntimeError(f"{self.name}: no feasible plan:\n{plan.diagnosis_text()}")
        self.launched_operations = sum(s.launched for _, s in plan.operation_periods())
        return plan.effort_by_region()

    def _inputs(self, knowledge: Knowledge, forecast: pd.DataFrame) -> Inputs:
        return Inputs.from_resources(
            knowledge.resources, knowledge.regions, forecast, knowledge.recent_counts(), horizon=1
        )

    def _truth_forecast(self, knowledge: Knowledge) -> pd.DataFrame:
        truth = knowledge.next_activity
        rate = truth["activity_rate"]
        return pd.DataFrame(
            {
                "region_id": truth["region_id"],
                "category": truth["category"],
                "period": truth["period"],
                "activity_mean": rate,
                "activity_q10": rate,
                "activity_q50": rate,
                "activity_q90": rate,
                "detection_rate": truth["category"].map(knowledge.true_kappa),
            }
        )

    def _model_forecast(self, knowledge: Knowledge) -> pd.DataFrame:
        aware = self.name == "crossplan" and self.effort_aware
        if self._model is None or self._round % self.retrain_every == 0:
            self._model = fit_forecaster(
                knowledge.panel,
                knowledge.regions,
                knowledge.adjacency,
                effort_aware=aware,
                model_params=self.model_params,
            )
            if not aware:
                # Treating counts as the truth leaves the planner without a detection rate;
                # give it the one an effort-aware fit would find, so the two policies differ
                # only in what they forecast.
                self._kappa = _fit_kappa(knowledge)
        forecast = self._model.predict(knowledge.panel, horizon=1)
        if not aware:
            forecast["detection_rate"] = forecast["category"].map(self._kappa)
        self.forecast_error = deviance(forecast, knowledge.next_activity)
        return forecast


def make_policy(name: str, **options: Any) -> PolicyRunner | FederatedRunner:
    """A fresh policy by name (one of :data:`POLICIES`)."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; use one of {', '.join(POLICIES)}")
    if name in FEDERATED:
        return FederatedRunner(name, FEDERATED[name], **options)
    return PolicyRunner(name, **options)


def _fit_kappa(knowledge: Knowledge) -> dict[str, float]:
    panel = knowledge.panel
    country = panel["region_id"].map(knowledge.regions.set_index("region_id")["country"])
    model = DetectionModel().fit(
        panel["reported"].to_numpy(float),
        panel["detected"].to_numpy(float),
        panel["effort"].to_numpy(float),
        country.to_numpy(object),
        panel["category"].to_numpy(object),
    )
    return {str(k): float(v) for k, v in model.kappa_.items()}
