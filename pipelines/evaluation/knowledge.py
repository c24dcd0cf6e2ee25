"""What a policy knows when it plans, and the helpers every model policy shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crossplan.models import RiskForecaster
from crossplan.optimize.resources import Resources
from crossplan.pipelines.contract.dataset import recent_counts
from crossplan.pipelines.metrics import poisson_deviance

__all__ = ["Knowledge", "deviance", "fit_forecaster"]


@dataclass
class Knowledge:
    """What a policy may use when it plans the next period.

    Attributes
    ----------
    panel
        Every observation so far (the incidents format of the data contract).
    regions, adjacency, resources
        The world as agencies see it.
    next_activity
        True activity rates of the coming period; only the oracle may read it.
    true_kappa
        True detection rates per category; only the oracle may read it.
    """

    panel: pd.DataFrame
    regions: pd.DataFrame
    adjacency: pd.DataFrame
    resources: Resources
    next_activity: pd.DataFrame
    true_kappa: Mapping[str, float]

    def recent_counts(self) -> dict[str, float]:
        return {str(r): float(v) for r, v in recent_counts(self.panel).items()}


def fit_forecaster(
    panel: pd.DataFrame,
    regions: pd.DataFrame,
    adjacency: pd.DataFrame,
    effort_aware: bool,
    model_params: Mapping[str, Any],
) -> RiskForecaster:
    """The evaluation's forecaster (one period ahead, one thread, seeded) fitted on ``panel``."""
    params = {"horizon": 1, "n_jobs": 1, "random_state": 0, **model_params}
    return RiskForecaster(effort_aware=effort_aware, **params).fit(
        panel, regions, adjacency, frequency="weekly"
    )


def deviance(forecast: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Mean Poisson deviance of a forecast's ``activity_mean`` against the true activity
    (a region the forecast leaves out counts as a forecast of 0)."""
    merged = truth.merge(forecast, on=["region_id", "category"], how="left")
    return poisson_deviance(
        merged["activity_rate"].to_numpy(float), merged["activity_mean"].fillna(0.0).to_numpy(float)
    )
