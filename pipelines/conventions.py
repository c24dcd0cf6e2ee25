"""Names fixed by docs/design.md, "MLflow conventions", importable without MLflow.

The service's worker and ``bentoml serve``'s main process both import the service module
before anything is served, and the worker unpickles the champion's local copy
(:class:`pipelines.forecasting.LoadedModel`); a name must not cost them MLflow's import
(two seconds of a restart).
"""

from __future__ import annotations

__all__ = [
    "BASELINES",
    "CANDIDATE_TAG",
    "COVERAGE_METRIC",
    "GATE_METRIC",
    "INTERVAL_METRICS",
    "MODEL_NAME",
]

# The registered model every champion is a version of.
MODEL_NAME = "crossplan-risk"
# The metric the promotion gate compares (observed, on the backtest window).
GATE_METRIC = "poisson_deviance"
#: The coverage eligibility and the gate read: count-aware (randomized PIT) 80% coverage,
#: 0.80 for a calibrated forecast however sparse the counts (``pipelines.metrics``).
COVERAGE_METRIC = "pit_coverage80"
#: The naive baselines a first champion must beat beyond noise when it was chosen by a
#: compromise (no candidate calibrated).
BASELINES = ("last_value", "seasonal_naive")
#: Run tag naming the candidate a run registered (``lightgbm``, ``blend``, ``last_value`` ...).
CANDIDATE_TAG = "champion.candidate"
#: What the selection shows of each candidate's 80% interval beside the gate metric
#: (``selection.json``, ``GET /model``): coverage, each end's misses, the interval score,
#: and the count-aware coverage and tails (randomized PIT; ``pipelines.metrics``).
INTERVAL_METRICS = (
    "coverage80", "below_q10", "above_q90", "interval_score80",
    "pit_coverage80", "pit_below_q10", "pit_above_q90",
)  # fmt: skip
