"""Choosing the champion by evidence: every candidate, and a blend of them, on one window.

The backtest scores the main model, its naive twin and every baseline on the same folds.
:func:`add_blend` adds a blend whose weights and intervals at each origin are fitted only on
what was known by then (weights on the backtest forecasts whose target period is no later
than the origin and on the members' held-out forecasts of the fits that forecast from that
origin, the last refit at or before it; intervals on those held-out forecasts), so the blend
is scored out of sample on the same folds as the rest.

:func:`select` then picks among the candidates whose 80% interval is calibrated. Mean
deviances on one window differ by chance as well as by skill, so differences are judged
against the noise of the backtest: a paired bootstrap over forecast origins (every candidate
on the same draws; :func:`~pipelines.noise_test.paired_bootstrap`) gives, for each pair of
candidates, an interval of the difference of their mean deviances, and a candidate *beats*
another beyond noise when that whole interval is below zero. Walking from the simplest
candidate to the most complex, a candidate replaces the incumbent only if it beats it beyond
noise.

On a panel that records effort, a candidate that forecasts observed counts (the naive twin,
or a blend that puts no weight on an effort-aware member) competes and is scored, but cannot
be champion: it says where patrols found incidents, not where activity is, and a plan made on
it sends patrols back where they already were (docs/design.md, "Principles", 2).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossplan.models import PanelForecaster, blend_calibration, blend_weights
from crossplan.models.base import calibrate
from crossplan.models.blend import held_out_members
from crossplan.pipelines.backtest import (
    FORECAST_MEANS,
    PIT_COLUMNS,
    BacktestResult,
    backtest,
)
from crossplan.pipelines.conventions import (
    COVERAGE_METRIC,
    COVERAGE_WINDOW,
    GATE_METRIC,
    INTERVAL_METRICS,
    CoverageWindow,
)
from crossplan.pipelines.noise_test import BOOTSTRAP_COLUMNS, NoiseTest, paired_bootstrap

__all__ = [
    "BLEND",
    "SIMPLICITY",
    "Selection",
    "add_blend",
    "judge",
    "select",
]

BLEND = "blend"
#: Candidates from the simplest to the most complex; ties go to the simpler one.
SIMPLICITY = (
    "last_value", "seasonal_naive", "moving_average", "poisson_glm",
    "lightgbm_naive", "lightgbm", BLEND,
)  # fmt: skip
_KEYS = ["origin", "horizon", "region_id", "category", "period"]


def add_blend(
    result: BacktestResult,
    members: list[str],
    name: str = BLEND,
    prior: np.ndarray | None = None,
) -> tuple[BacktestResult, list[list[float]]]:
    """The backtest with a blend of ``members`` added, and the blend's final weights.

    Weights are fitted per horizon (the simplest forecasts are often best one step ahead and
    learned ones further out). At each origin they minimise the deviance of the members'
    out-of-sample forecasts known by then (see the module's description; held-out ones give
    the first origins evidence), pulled toward ``prior`` (equal shares by default) by how
    few origins those forecasts come from (:data:`~models.blend.EQUAL_SHARE_ORIGINS`): the
    backtest origins of the past forecasts and the held-out window's origins. The blend's
    intervals are calibrated on the held-out forecasts, blended at those weights. The final
    weights, one row per horizon, use every backtest forecast (the origins with an outcome
    at that horizon); they are what a served blend uses.
    """
    pred = result.rows.read(members)
    wide = {m: pred[pred["model"] == m].set_index(_KEYS) for m in members}
    base = wide[members[0]]
    index = base.index
    columns = {
        c: np.column_stack([wide[m].reindex(index)[c].to_numpy(float) for m in members])
        for c, _, _ in FORECAST_MEANS
    }
    p = columns["prediction"]
    actual = base["actual"].to_numpy(float)
    origin, period = index.get_level_values("origin"), index.get_level_values("period")
    horizon = index.get_level_values("horizon").to_numpy(int)
    known = np.isfinite(actual) & np.isfinite(p).all(axis=1)
    blended = {c: np.zeros(len(index)) for means in FORECAST_MEANS for c in means}
    for o in result.origins:
        cells, held_p = held_out_members(held_out := [result.calibration[m][o] for m in members])
        held_y, held_h = cells["actual"].to_numpy(float), cells["horizon"].to_numpy(int)
        held_known = np.isfinite(held_y) & np.isfinite(held_p).all(axis=1)
        # Each held-out target at horizon h is forecast from its own origin (target - h).
        held_t = cells["target"].to_numpy()
        weights = np.array([
            blend_weights(np.concatenate([actual[past], held_y[window]]),
                          np.concatenate([p[past], held_p[window]]),
                          len(np.unique(origin[past])) + len(np.unique(held_t[window])), prior)
            for h in range(1, result.horizon + 1)
            for past in [known & (horizon == h) & (period <= o) & (origin < o)]
            for window in [held_known & (held_h == h)]
        ])  # fmt: skip
        rows = origin == o
        step = horizon[rows] - 1
        intervals = calibrate(blend_calibration(held_out, weights))
        for mean, lo, hi in FORECAST_MEANS:
            blended[mean][rows] = np.einsum("ij,ij->i", columns[mean][rows], weights[step])
            q = intervals.quantiles(blended[mean][rows], horizon[rows])
            blended[lo][rows], blended[hi][rows] = q["q10"], q["q90"]
        for mean, outcome, lo, hi in PIT_COLUMNS:
            if lo in base:
                known_y = outcome in base
                y = base[outcome].to_numpy(float)[rows] if known_y else np.full(rows.sum(), np.nan)
                pit = intervals.pit(y, blended[mean][rows], horizon[rows])
                blended.setdefault(lo, np.full(len(index), np.nan))[rows] = pit[0]
                blended.setdefault(hi, np.full(len(index), np.nan))[rows] = pit[1]
    final = [
        [
            float(v)
            for v in blend_weights(actual[rows], p[rows], len(np.unique(origin[rows])), prior)
        ]
        for h in range(1, result.horizon + 1)
        for rows in [known & (horizon == h)]
    ]
    frame = base.reset_index().assign(model=name, **blended)
    frame = frame[pred.columns]
    out = BacktestResult(
        result.rows.with_rows(frame), result.origins, result.horizon, result.has_truth,
        result.calibration,
    )  # fmt: skip
    return out, final


@dataclass(frozen=True)
class Selection:
    """The chosen candidate, every candidate's score on the same window, and the noise test."""

    candidate: str
    reason: str
    scores: dict[str, dict[str, Any]]
    test: dict[str, Any] = field(default_factory=dict)
    coverage_window: CoverageWindow = COVERAGE_WINDOW
    #: What the choice gave up, in words; empty when the chosen candidate is eligible.
    compromise: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select(
    result: BacktestResult,
    counts_only: Collection[str] = (),
    *,
    window: CoverageWindow = COVERAGE_WINDOW,
    gate_metric: str = GATE_METRIC,
    replicates: int = 2000,
    seed: int = 0,
) -> Selection:
    """The eligible candidate that replaced every simpler one beyond noise.

    Eligible candidates are walked from the simplest to the most complex
    (:data:`SIMPLICITY`); the first is the incumbent, and a candidate replaces the incumbent
    only if it beats it beyond noise (:meth:`NoiseTest.beats`). When no candidate is
    eligible the walk runs over the candidates whose interval score (a proper score of the
    interval) no other beats beyond noise, and the selection says what it compromised on;
    the closest coverage never decides.

    Parameters
    ----------
    result
        The backtest of every candidate (blend included) on one window.
    counts_only
        Candidates that forecast observed counts on a panel that records effort: scored,
        never chosen.
    window
        Allowed count-aware 80% coverage (:data:`~pipelines.conventions.COVERAGE_METRIC`)
        against observed counts: the candidates in it are eligible.
    replicates, seed
        Of the paired bootstrap (:func:`paired_bootstrap`).
    """
    metrics = {name: m["observed"] for name, m in result.metrics().items()}
    scores: dict[str, dict[str, Any]] = {}
    for name, m in metrics.items():
        value, cov = float(m[gate_metric]), float(m.get(COVERAGE_METRIC, m["coverage80"]))
        scores[name] = {
            gate_metric: value,
            **{k: float(m.get(k, np.nan)) for k in INTERVAL_METRICS},
        }
        why_not = _why_not_eligible(name in counts_only, gate_metric, value, cov, window)
        scores[name] |= {"eligible": not why_not, **({"not_eligible": why_not} if why_not else {})}
        if name in counts_only:
            scores[name]["note"] = _COUNTS_ONLY
    names = list(metrics)
    noise = _noise(result, names, replicates, seed)
    for name in scores:
        scores[name]["beats"] = [o for o in names if o != name and noise.beats(name, o)]
    pool = [n for n, s in scores.items() if s["eligible"]]
    compromise = ""
    if not pool:
        allowed = [
            n for n in scores if n not in counts_only and np.isfinite(scores[n][gate_metric])
        ]
        pool, compromise = _fallback(result, allowed or names, scores, window, replicates, seed)
        if not allowed:
            compromise += "; none forecasts activity, so none may be champion"
    for name in scores:
        scores[name]["beaten_by"] = [o for o in pool if o != name and noise.beats(o, name)]
    chosen, reason = _walk(pool, scores, gate_metric)
    if compromise:
        reason += f"; {compromise}"
    else:
        reason += f"; eligible: count-aware coverage within {window}"
    return _selection(chosen, reason, scores, noise, gate_metric, window, compromise)


_COUNTS_ONLY = "forecasts observed counts, not activity"


def _noise(
    result: BacktestResult, names: list[str], replicates: int, seed: int, metric: str = GATE_METRIC
) -> NoiseTest:
    """:func:`~pipelines.noise_test.paired_bootstrap` of ``names`` on ``result``, reading only
    their rows and the columns it needs; blocks of ``horizon`` origins."""
    rows = result.rows.read(names, BOOTSTRAP_COLUMNS)
    return paired_bootstrap(
        rows, names, block=result.horizon, replicates=replicates, seed=seed, metric=metric
    )


def _why_not_eligible(
    counts_only: bool, gate_metric: str, value: float, coverage: float, window: CoverageWindow
) -> str:
    """Why a candidate may not be chosen (the measure, its value, the window); empty if it may."""
    reasons = [_COUNTS_ONLY] if counts_only else []
    if not window.contains(coverage):
        reasons.append(
            f"count-aware 80% coverage ({COVERAGE_METRIC}) {coverage:.3f} is outside {window}"
        )
    if not np.isfinite(value):
        reasons.append(f"{gate_metric} is {value}")
    return "; ".join(reasons)


def _fallback(
    result: BacktestResult,
    allowed: list[str],
    scores: dict[str, dict[str, Any]],
    window: CoverageWindow,
    replicates: int,
    seed: int,
) -> tuple[list[str], str]:
    """With no eligible candidate: those whose interval score no other beats beyond noise."""
    by_interval = _noise(result, allowed, replicates, seed, metric="interval_score80")
    pool = [n for n in allowed if not any(by_interval.beats(o, n) for o in allowed if o != n)]
    for name in allowed:
        scores[name]["interval_score_best"] = name in pool
    covs = ", ".join(f"{n} {scores[n][COVERAGE_METRIC]:.3f}" for n in allowed)
    return pool, (
        f"compromise: no candidate that forecasts activity has count-aware 80% coverage within "
        f"{window} ({covs}); chosen by deviance among those whose interval "
        "score no other beats beyond noise, so its intervals are the best available, "
        "not calibrated"
    )


def _walk(pool: list[str], scores: dict[str, dict[str, Any]], gate_metric: str) -> tuple[str, str]:
    """From the simplest candidate of ``pool``, each replaced only by one that beats it."""
    rank = {name: i for i, name in enumerate(SIMPLICITY)}
    by_rank = sorted(pool, key=lambda n: (rank.get(n, len(rank)), scores[n][gate_metric]))
    chosen, replaced = by_rank[0], []
    for name in by_rank[1:]:
        if name in scores[chosen]["beaten_by"]:
            replaced.append(chosen)
            chosen = name
    # "Beats" is not transitive: a candidate passed over early may beat the one the walk
    # ends on. The best of those that beat it replaces it then, until none does.
    while scores[chosen]["beaten_by"] and chosen not in replaced:
        replaced.append(chosen)
        chosen = min(scores[chosen]["beaten_by"], key=lambda n: scores[n][gate_metric])
    reason = f"{chosen} ({gate_metric} {scores[chosen][gate_metric]:.4f})"
    if replaced:
        reason += f" replaced {', then '.join(replaced)}, each beaten beyond noise"
    else:
        reason += " is the simplest candidate in the running"
    passed = [n for n in by_rank if n not in (*replaced, chosen)]
    later = [n for n in passed if rank.get(n, len(rank)) > rank.get(chosen, len(rank))]
    if later:
        reason += f"; {', '.join(later)} did not beat it beyond noise"
    return chosen, reason


def _selection(
    chosen: str,
    reason: str,
    scores: dict[str, dict[str, Any]],
    noise: NoiseTest,
    gate_metric: str,
    window: CoverageWindow,
    compromise: str = "",
) -> Selection:
    for name, s in scores.items():
        lo, hi = noise.difference(name, chosen)
        s["vs_chosen"] = {
            "difference": s[gate_metric] - scores[chosen][gate_metric],
            f"interval{round(noise.level * 100)}": [lo, hi],
        }
    return Selection(chosen, reason, scores, noise.describe(), window, compromise)


@dataclass(frozen=True)
class Comparison:
    """Every candidate's backtest (the blend's added), the blend's weights and the choice."""

    result: BacktestResult
    weights: list[list[float]]
    selection: Selection


def forecasts_counts(models: Mapping[str, PanelForecaster], weights: list[list[float]]) -> set[str]:
    """Candidates that forecast observed counts: those not effort-aware, and a blend of them."""
    counts = _not_effort_aware(models)
    used = {n for n, w in zip(models, np.max(weights, axis=0), strict=True) if w > 0}
    return counts | ({BLEND} if used <= counts else set())


def compare(
    panel: pd.DataFrame,
    regions: pd.DataFrame,
    adjacency: pd.DataFrame,
    models: Mapping[str, PanelForecaster],
    *,
    has_effort: bool,
    window: CoverageWindow = COVERAGE_WINDOW,
    seed: int = 0,
    **folds: Any,
) -> Comparison:
    """Backtest ``models`` on the same folds, add their blend and choose, as training does.

    ``folds`` are :func:`~pipelines.backtest.backtest`'s options (origins, horizon,
    refit_every, frequency, truth, progress, and the ``runner`` the fits run on).
    """
    result = backtest(panel, regions, adjacency, models, **folds)
    return judge(result, models, has_effort=has_effort, window=window, seed=seed)


def judge(
    result: BacktestResult,
    models: Mapping[str, PanelForecaster],
    *,
    has_effort: bool,
    window: CoverageWindow = COVERAGE_WINDOW,
    seed: int = 0,
    blend: bool = True,
) -> Comparison:
    """The verdict on a backtest of ``models``, by the rule training uses: their blend added
    (when ``blend`` and there are several), then :func:`select`. Every door that names a
    winner (``crossplan train``, ``crossplan backtest``) goes through here."""
    weights: list[list[float]] = [[1.0] * len(models)] * result.horizon
    if blend and len(models) > 1:
        # Equal shares among the members a plan may rest on: not a count forecaster's on a
        # panel with effort (its weight is what the evidence gives it, no more).
        counts = _not_effort_aware(models) if has_effort else set()
        prior = np.array([float(n not in counts) for n in models])
        result, weights = add_blend(result, list(models), prior=prior if prior.any() else None)
    barred = forecasts_counts(models, weights) if has_effort else set()
    return Comparison(result, weights, select(result, barred, window=window, seed=seed))


def _not_effort_aware(models: Mapping[str, PanelForecaster]) -> set[str]:
    return {n for n, m in models.items() if not m.get_params().get("effort_aware", True)}
