"""Names fixed by docs/design.md, "MLflow conventions", importable without MLflow.

The service's worker and ``bentoml serve``'s main process both import the service module
before anything is served, and the worker unpickles the champion's local copy
(:class:`pipelines.forecasting.LoadedModel`); a name must not cost them MLflow's import
(two seconds of a restart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

__all__ = [
    "BASELINES",
    "CANDIDATE_TAG",
    "COVERAGE_METRIC",
    "COVERAGE_WINDOW",
    "EXPERIMENT_KIND",
    "EXPERIMENT_KIND_TAG",
    "GATE_METRIC",
    "INTERVAL_METRICS",
    "MODEL_NAME",
    "PANEL_DATASET",
    "RUN_KIND_TAG",
    "CoverageWindow",
]

# The registered model every champion is a version of.
MODEL_NAME = "crossplan-risk"
#: Experiment tag the MLflow 3 UI reads to choose an experiment's pages, and our value: the
#: runs table of model training ("Machine learning"), not the traces of GenAI apps.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
#: Run tag saying what a run of the experiment is: ``train``, ``backtest`` or ``evaluation``.
RUN_KIND_TAG = "crossplan.kind"
#: Name of the MLflow dataset (``mlflow.data``) a run logs its panel as.
PANEL_DATASET = "crossplan-panel"
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
# Prefix of the run parameters that record the coverage window (``.lo``, ``.hi``).
_PARAM = "selection.coverage_window"


@dataclass(frozen=True)
class CoverageWindow:
    """Allowed count-aware 80% coverage (:data:`COVERAGE_METRIC`) against observed counts,
    both ends included.

    A candidate whose coverage lies outside it is not eligible to be chosen
    (:func:`pipelines.selection.select`) nor promoted (:func:`pipelines.registry.gate`).
    """

    lo: float
    hi: float

    def contains(self, coverage: float) -> bool:
        """Whether ``coverage`` lies within the window."""
        return self.lo <= coverage <= self.hi

    @property
    def middle(self) -> float:
        """The window's midpoint (0.80 for the default window)."""
        return (self.lo + self.hi) / 2

    def __str__(self) -> str:
        return f"[{self.lo}, {self.hi}]"

    def to_dict(self) -> dict[str, float]:
        """``{"lo": ..., "hi": ...}``, as ``selection.json`` and the model cards hold it."""
        return asdict(self)

    def to_params(self) -> dict[str, float]:
        """The run parameters a training run records the window in."""
        return {f"{_PARAM}.{end}": value for end, value in self.to_dict().items()}

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CoverageWindow | None:
        """The window a run recorded (:meth:`to_params`), or ``None`` for a run that did not."""
        try:
            return cls(float(params[f"{_PARAM}.lo"]), float(params[f"{_PARAM}.hi"]))
        except (KeyError, ValueError):
            return None


#: Planners plan on q90, so an interval that misses more than a quarter of outcomes
#: understates risk where plans are made.
COVERAGE_WINDOW = CoverageWindow(0.75, 0.85)
