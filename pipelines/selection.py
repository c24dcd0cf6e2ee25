"""Choosing the champion by evidence: every candidate, and a blend of them, on one window.

The backtest scores the main model, its naive twin and every baseline on the same folds.
:func:`add_blend` adds a blend whose weights at each origin are fitted only on forecasts
whose outcomes were known by then (earlier origins, target periods up to this origin), so the
blend is scored out of sample on the same folds as the rest. :func:`select` then picks the
candidate with the lowest deviance among those whose 80% coverage is in range, whatever its
kind; on a tie the simpler candidate wins. A candidate beaten by a simpler one on the same
window is never chosen.

On a panel that records effort, a candidate that forecasts observed counts (the naive twin,
or a blend that puts no weight on an effort-aware member) competes and is scored, but cannot
be champion: it says where patrols found incidents, not where activity is, and a plan made on
it sends patrols back where they already were (docs/design.md, "Principles", 2).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from models import blend_weights
from pipelines.backtest import BacktestResult

__all__ = ["BLEND", "SIMPLICITY", "Selection", "add_blend", "select"]

BLEND = "blend"
#: Candidates from the simplest to the most complex; ties go to the simpler one.
SIMPLICITY = (
    "last_value", "seasonal_naive", "moving_average", "poisson_glm",
    "lightgbm_naive", "lightgbm", BLEND,
)  # fmt: skip
_BLENDED = ["prediction", "q10", "q90", "activity_mean", "activity_q10", "activity_q90"]
_KEYS = ["origin", "horizon", "region_id", "category", "period"]


def add_blend(
    result: BacktestResult, members: list[str], name: str = BLEND
) -> tuple[BacktestResult, list[list[float]]]:
    """The backtest with a blend of ``members`` added, and the blend's final weights.

    Weights are fitted per horizon (the simplest forecasts are often best one step ahead and
    learned ones further out). At each origin they minimise the deviance of the members'
    forecasts whose target period is no later than that origin (equal weights when there is
    none yet). The final weights, one row per horizon, use every backtest forecast; they are
    what a served blend uses.
    """
    pred = result.predictions
    wide = {m: pred[pred["model"] == m].set_index(_KEYS) for m in members}
    base = wide[members[0]]
    index = base.index
    columns = {
        c: np.column_stack([wide[m].reindex(index)[c].to_numpy(float) for m in members])
        for c in _BLENDED
    }
    p = columns["prediction"]
    actual = base["actual"].to_numpy(float)
    origin = index.get_level_values("origin")
    period = index.get_level_values("period")
    horizon = index.get_level_values("horizon").to_numpy(int)
    known = np.isfinite(actual) & np.isfinite(p).all(axis=1)
    blended = {c: np.zeros(len(index)) for c in _BLENDED}
    final: list[list[float]] = []
    for h in range(1, result.horizon + 1):
        at_h = horizon == h
        for o in result.origins:
            train = known & at_h & (period <= o) & (origin < o)
            w = blend_weights(actual[train], p[train])
            rows = at_h & (origin == o)
            for c in _BLENDED:
                blended[c][rows] = columns[c][rows] @ w
        final.append([float(v) for v in blend_weights(actual[known & at_h], p[known & at_h])])
    frame = base.reset_index().assign(model=name, **blended)
    frame = frame[pred.columns]
    out = BacktestResult(
        pd.concat([pred, frame], ignore_index=True), result.origins, result.horizon,
        result.has_truth,
    )  # fmt: skip
    return out, final


@dataclass(frozen=True)
class Selection:
    """The chosen candidate and every candidate's score on the same window."""

    candidate: str
    reason: str
    scores: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select(
    metrics: dict[str, dict[str, float]],
    coverage_range: tuple[float, float],
    gate_metric: str = "poisson_deviance",
    counts_only: Collection[str] = (),
) -> Selection:
    """The best candidate on ``gate_metric`` among those with coverage in range.

    Parameters
    ----------
    metrics
        ``{candidate: {"poisson_deviance": ..., "coverage80": ...}}`` on one window.
    coverage_range
        Allowed 80% interval coverage, inclusive.
    counts_only
        Candidates that forecast observed counts on a panel that records effort: scored,
        never chosen.
    """
    lo, hi = coverage_range
    rank = {name: i for i, name in enumerate(SIMPLICITY)}
    scores: dict[str, dict[str, Any]] = {}
    for name, m in metrics.items():
        value, cov = float(m[gate_metric]), float(m["coverage80"])
        ok = lo <= cov <= hi and name not in counts_only
        scores[name] = {gate_metric: value, "coverage80": cov, "eligible": ok}
        if name in counts_only:
            scores[name]["note"] = "forecasts observed counts, not activity"
    eligible = [n for n, s in scores.items() if s["eligible"] and np.isfinite(s[gate_metric])]
    if not eligible:
        allowed = [n for n in scores if n not in counts_only] or list(scores)
        best = min(allowed, key=lambda n: abs(scores[n]["coverage80"] - (lo + hi) / 2))
        return Selection(
            best, f"no candidate has 80% coverage within [{lo}, {hi}]; closest: {best}", scores
        )
    best = min(eligible, key=lambda n: (scores[n][gate_metric], rank.get(n, len(rank))))
    ordered = sorted(eligible, key=lambda n: scores[n][gate_metric])
    runner = next((n for n in ordered if n != best), None)
    reason = f"{best} has the lowest {gate_metric} ({scores[best][gate_metric]:.4f})"
    if runner is not None:
        reason += f", ahead of {runner} ({scores[runner][gate_metric]:.4f})"
    reason += f" among candidates with coverage within [{lo}, {hi}]"
    return Selection(best, reason, scores)
