"""Is one candidate better than another, or did the window favour it? A paired bootstrap.

What is uncertain about a backtest is time: which periods happened to fall in its window.
:func:`paired_bootstrap` redraws the window's forecast origins, every candidate on the same
draws, and :class:`NoiseTest` says, for each pair, the interval of the difference of their
mean scores and whether one beats the other beyond noise (:mod:`pipelines.selection` walks
the candidates with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crossplan.pipelines.conventions import GATE_METRIC
from crossplan.pipelines.metrics import interval_scores, poisson_deviances

__all__ = ["BOOTSTRAP_COLUMNS", "NoiseTest", "paired_bootstrap"]

# A forecast's cell: the same cell of two candidates is compared.
_CELL = ["origin", "horizon", "region_id", "category", "period"]
#: The columns of the forecast rows :func:`paired_bootstrap` reads.
BOOTSTRAP_COLUMNS = ["model", *_CELL, "actual", "prediction", "q10", "q90"]


@dataclass(frozen=True)
class NoiseTest:
    """The paired bootstrap of mean deviances over forecast origins (:func:`paired_bootstrap`).

    ``draws[b, j]`` is candidate ``names[j]``'s mean deviance in replicate ``b``.
    """

    names: list[str]
    draws: np.ndarray
    level: float
    seed: int
    origins: int
    block: int
    metric: str = GATE_METRIC

    def difference(self, a: str, b: str) -> tuple[float, float]:
        """The ``level`` interval of ``deviance(a) - deviance(b)`` over the replicates."""
        diff = self.draws[:, self.names.index(a)] - self.draws[:, self.names.index(b)]
        tail = (1.0 - self.level) / 2
        lo, hi = np.quantile(diff, [tail, 1.0 - tail])
        return float(lo), float(hi)

    def beats(self, a: str, b: str) -> bool:
        """Whether ``a``'s deviance is below ``b``'s beyond the noise (the interval below 0)."""
        return self.difference(a, b)[1] < 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "method": f"paired moving-block bootstrap of mean {self.metric} over forecast "
            "origins (circular blocks; every candidate on the same draws)",
            "replicates": len(self.draws),
            "level": self.level,
            "beats": f"the {self.level:.0%} interval of the difference lies below zero",
            "seed": self.seed,
            "origins": self.origins,
            "block": self.block,
        }


def paired_bootstrap(
    predictions: pd.DataFrame,
    names: list[str],
    *,
    block: int = 1,
    replicates: int = 2000,
    level: float = 0.9,
    seed: int = 0,
    metric: str = GATE_METRIC,
) -> NoiseTest:
    """Bootstrap every candidate's mean ``metric`` on the same resampled forecast origins.

    ``metric`` is ``poisson_deviance`` (the gate's) or ``interval_score80``.

    What is uncertain about a backtest is time: which periods happened to fall in its
    window. The regions are not a sample of other places; they are the places the model
    will forecast. So each replicate redraws the window's origins, in circular blocks of
    ``block`` consecutive origins (the forecasts of nearby origins share target periods, so
    their errors are not independent; the horizon is the natural block), and every
    candidate's mean deviance is computed over all the regions, categories and horizons of
    the drawn origins. Only cells every candidate forecast count.
    """
    rows = predictions[predictions["model"].isin(names)].dropna(subset=["actual", "prediction"])
    unit = (
        interval_scores(rows["actual"], rows["q10"], rows["q90"])
        if metric == "interval_score80"
        else poisson_deviances(rows["actual"], rows["prediction"])
    )
    rows = rows.assign(unit=unit)
    rows = rows[rows.groupby(_CELL)["model"].transform("nunique") == len(names)]
    o_idx, origins = pd.factorize(rows["origin"], sort=True)
    m_idx = pd.Index(names).get_indexer(rows["model"])
    n_o, n_m = len(origins), len(names)
    loss = np.zeros((n_m, n_o))
    np.add.at(loss, (m_idx, o_idx), rows["unit"].to_numpy(float))
    count = np.bincount(o_idx[m_idx == 0], minlength=n_o).astype(float)
    block = max(1, min(int(block), n_o))
    rng = np.random.default_rng(seed)
    n_blocks = -(-n_o // block)
    starts = rng.integers(0, max(n_o, 1), (replicates, n_blocks))
    drawn = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(replicates, -1)
    drawn = drawn[:, :n_o] % max(n_o, 1)
    weight = np.zeros((replicates, n_o))
    np.add.at(weight, (np.arange(replicates)[:, None], drawn), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = (weight @ loss.T) / (weight @ count)[:, None]
    draws = draws[np.isfinite(draws).all(axis=1)]
    if not len(draws):
        draws = np.full((1, n_m), np.nan)
    return NoiseTest(list(names), draws, level, seed, n_o, block, metric)
