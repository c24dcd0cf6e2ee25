"""Names fixed by docs/design.md, "MLflow conventions", importable without MLflow.

The service's worker and ``bentoml serve``'s main process both import the service module
before anything is served, and the worker unpickles the champion's local copy
(:class:`pipelines.forecasting.LoadedModel`); a name must not cost them MLflow's import
(two seconds of a restart).
"""

from __future__ import annotations

__all__ = ["CANDIDATE_TAG", "GATE_METRIC", "MODEL_NAME"]

# The registered model every champion is a version of.
MODEL_NAME = "crossplan-risk"
# The metric the promotion gate compares (observed, on the backtest window).
GATE_METRIC = "poisson_deviance"
#: Run tag naming the candidate a run registered (``lightgbm``, ``blend``, ``last_value`` ...).
CANDIDATE_TAG = "champion.candidate"
