"""The model registry: ``crossplan-risk`` with aliases ``champion`` and ``challenger``.

Training backtests every candidate (main model, naive twin, baselines, a blend) and
registers the one chosen on the same window (:mod:`pipelines.selection`: the simplest
calibrated candidate that no other beats beyond the noise of the backtest); it becomes the
challenger. It becomes champion only when its 80% interval coverage is within
:data:`~pipelines.conventions.COVERAGE_WINDOW` (count-aware) and it beats the champion on the same backtest window (mean Poisson
deviance against observed counts); the decision, with every candidate's score, is logged
with the run and tagged on the model version. A person can promote any version by hand, with
a reason, which is recorded the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from crossplan.models import PanelForecaster
from crossplan.models.legacy import old_module_paths
from crossplan.pipelines.conventions import (
    BASELINES,
    CANDIDATE_TAG,
    COVERAGE_METRIC,
    COVERAGE_WINDOW,
    GATE_METRIC,
    MODEL_NAME,
    CoverageWindow,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.selection import Selection

__all__ = [
    "CANDIDATE_TAG",
    "CHALLENGER",
    "CHAMPION",
    "GATE_METRIC",
    "MODEL_DESCRIPTION",
    "MODEL_NAME",
    "Decision",
    "champion_version",
    "describe",
    "gate",
    "load_forecaster",
    "promote",
    "set_challenger",
]

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Decision:
    """Outcome of the promotion gate."""

    promote: bool
    reason: str
    challenger_deviance: float
    challenger_coverage: float
    champion_deviance: float | None = None
    champion_version: str | None = None
    candidate: str | None = None
    candidates: dict[str, dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def next_step(self, version: str) -> str:
        """What to do about registered ``version`` after this decision, in words."""
        if self.promote:
            return f"version {version} is the champion; a running service follows it by itself"
        anyway = f"crossplan promote --version {version} --reason TEXT"
        if self.champion_version is None:
            return f"no champion yet: to serve version {version} as it is, {anyway}"
        return (
            f"keep the champion (version {self.champion_version}); version {version} stays "
            f"challenger. To replace the champion anyway: {anyway}"
        )


def gate(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    champion_version: str | None = None,
    selection: Selection | None = None,
    *,
    window: CoverageWindow = COVERAGE_WINDOW,
) -> Decision:
    """Decide whether the challenger replaces the champion.

    Parameters
    ----------
    challenger, champion
        Observed-count backtest metrics of each on the same window (``champion`` is ``None``
        when there is no champion yet).
    selection
        How the challenger was chosen among the candidates of the same backtest. A
        challenger that another eligible candidate beats beyond noise on the same window is
        never promoted.
    window
        Allowed count-aware 80% coverage of the challenger against observed counts.
    """
    dev = float(challenger[GATE_METRIC])
    cov = float(challenger.get(COVERAGE_METRIC, challenger["coverage80"]))
    best = None if champion is None else float(champion[GATE_METRIC])
    scores = None if selection is None else selection.scores
    name = None if selection is None else selection.candidate

    def decide(promote: bool, reason: str) -> Decision:
        if selection is not None:
            reason = f"{selection.reason}; {reason}"
        return Decision(promote, reason, dev, cov, best, champion_version, name, scores)

    if selection is not None and name in selection.scores:
        beaten = selection.scores[name].get("beaten_by", [])
        if beaten:
            return decide(
                False, f"beaten beyond noise on the same window by {', '.join(sorted(beaten))}"
            )
        if selection.scores[name].get("note"):
            return decide(False, f"{name} {selection.scores[name]['note']}")
        if selection.compromise:
            return _compromise(decide, selection, name, (dev, cov), champion, best, window)
        if not selection.scores[name].get("eligible", True):
            why = selection.scores[name].get("not_eligible") or "reason not recorded"
            return decide(False, f"{name} is not eligible on this window: {why}")

    if not window.contains(cov):
        return decide(False, f"count-aware 80% coverage {cov:.3f} is outside {window}")
    if best is None:
        return decide(True, f"no champion yet; count-aware coverage {cov:.3f} is within {window}")
    if dev < best:
        return decide(
            True,
            f"deviance {dev:.4f} beats the champion's {best:.4f} on the same backtest window; "
            f"count-aware coverage {cov:.3f} is within {window}",
        )
    return decide(False, _not_better(dev, best))


def _not_better(dev: float, best: float) -> str:
    """Why a challenger no better than the champion leaves it be: a tie is said as one."""
    if f"{dev:.4f}" == f"{best:.4f}":
        return f"deviance {dev:.4f} ties the champion's on the same window: the champion stays"
    return f"deviance {dev:.4f} does not beat the champion's {best:.4f} on the same window"


def _compromise(
    decide: Callable[[bool, str], Decision],
    selection: Selection,
    name: str,
    challenger: tuple[float, float],
    champion: dict[str, float] | None,
    best: float | None,
    window: CoverageWindow,
) -> Decision:
    """A candidate chosen with no calibrated one: promoted when it is worth more than none.

    With no champion it is promoted when it beats the naive baselines beyond noise (a
    service with a model whose intervals are off, and says so, beats one with no model);
    over a champion, only when that champion's intervals are off too and it beats its
    deviance.
    """
    dev, cov = challenger
    beats = set(selection.scores[name].get("beats", []))
    baselines = [b for b in BASELINES if b in selection.scores and b != name]
    missed = [b for b in baselines if b not in beats]
    if name in BASELINES or missed or not baselines:
        return decide(
            False,
            f"{name} does not beat the naive baselines beyond noise "
            f"({', '.join(missed or [name])}); a compromise is not promoted on its own",
        )
    if champion is None or best is None:
        return decide(
            True,
            f"no champion yet; promoted as a compromise: it beats {', '.join(baselines)} "
            f"beyond noise, but its count-aware coverage {cov:.3f} is outside {window} "
            "(its intervals are not calibrated)",
        )
    champion_cov = float(champion.get(COVERAGE_METRIC, champion.get("coverage80", np.nan)))
    if window.contains(champion_cov):
        return decide(
            False, f"the champion's count-aware coverage {champion_cov:.3f} is within "
            f"{window}; a compromise does not replace a calibrated champion",
        )  # fmt: skip
    if dev < best:
        return decide(
            True, f"a compromise, over a champion whose coverage {champion_cov:.3f} is off "
            f"too: deviance {dev:.4f} beats its {best:.4f} on the same window",
        )  # fmt: skip
    return decide(False, _not_better(dev, best))


#: What the registered model is, whichever version: its description in the registry.
MODEL_DESCRIPTION = (
    "Incident risk per region, category and period, for cross-border planning: the mean "
    "forecast and its 80% interval (q10, q90), horizons 1..H, of the underlying activity "
    "where the panel records patrol effort, of observed counts otherwise. Every version is "
    "the candidate `crossplan train` chose on a rolling-origin backtest (main model, its "
    "naive twin, the baselines, a blend); alias `champion` is served, `challenger` is the "
    "latest. Each version's description names its panel and the verdict."
)


def _rule(window: CoverageWindow) -> str:
    return (
        f"count-aware 80% coverage ({COVERAGE_METRIC}) in {window}; the simplest candidate no "
        f"other beats beyond noise on mean {GATE_METRIC} (paired bootstrap over origins); "
        "replaces the champion when it beats its deviance on the same window"
    )


def describe(
    client: MlflowClient,
    version: str | int,
    description: str,
    tags: dict[str, str],
    *,
    window: CoverageWindow = COVERAGE_WINDOW,
    name: str = MODEL_NAME,
) -> None:
    """Describe the registered model (:data:`MODEL_DESCRIPTION`, tags ``champion.rule`` and
    ``coverage_window``) and ``version`` (its ``description`` and ``tags``)."""
    client.update_registered_model(name, description=MODEL_DESCRIPTION)
    for key, value in {"champion.rule": _rule(window), "coverage_window": str(window)}.items():
        client.set_registered_model_tag(name, key, value)
    client.update_model_version(name, str(version), description=description)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)


def champion_version(client: MlflowClient, name: str = MODEL_NAME) -> ModelVersion | None:
    """The version that holds the ``champion`` alias, or ``None``."""
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def set_challenger(client: MlflowClient, version: str | int, name: str = MODEL_NAME) -> None:
    """Give ``version`` the ``challenger`` alias."""
    client.set_registered_model_alias(name, CHALLENGER, str(version))


def promote(
    client: MlflowClient,
    version: str | int,
    reason: str,
    *,
    by: str = "manual",
    name: str = MODEL_NAME,
) -> ModelVersion:
    """Make ``version`` the champion and record who decided, when and why.

    Raises
    ------
    ConfigurationError
        When the version does not exist.
    """
    try:
        target = client.get_model_version(name, str(version))
    except MlflowException as err:
        raise ConfigurationError(
            f"model {name} has no version {version} in this MLflow store — fix: list versions "
            "in the MLflow UI or train one with crossplan train"
        ) from err
    previous = champion_version(client, name)
    client.set_registered_model_alias(name, CHAMPION, str(target.version))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    record = {
        "promotion.reason": reason,
        "promotion.by": by,
        "promotion.at": stamp,
        "promotion.previous_champion": "none" if previous is None else str(previous.version),
    }
    for key, value in record.items():
        client.set_model_version_tag(name, str(target.version), key, value)
        if target.run_id:
            client.set_tag(target.run_id, key, value)
    return client.get_model_version(name, str(target.version))


def load_forecaster(version: str | int, name: str = MODEL_NAME) -> PanelForecaster:
    """The fitted forecaster inside a registered pyfunc model version."""
    with old_module_paths():  # a version registered before the namespace
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    forecaster: PanelForecaster = model.unwrap_python_model().forecaster
    return forecaster
