"""Closed-loop metrics: effort concentration and fairness across countries."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["country_gap", "gini"]


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values: 0 when equal, near 1 when one region has all.

    >>> gini(np.array([1.0, 1.0, 1.0]))
    0.0
    >>> round(gini(np.array([0.0, 0.0, 0.0, 4.0])), 2)
    0.75
    """
    x = np.sort(np.asarray(values, dtype=float))
    total = x.sum()
    if x.size == 0 or total <= 0:
        return 0.0
    n = x.size
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * x).sum() / (n * total))


def country_gap(countries: pd.DataFrame) -> pd.DataFrame:
    """Each country's share of detections against its share of true activity.

    Parameters
    ----------
    countries
        ``country, detected, true_activity`` (summed over rounds).

    Returns
    -------
    DataFrame
        ``country, detection_share, activity_share, gap`` (detection minus activity share).
    """
    out = countries[["country"]].copy()
    out["detection_share"] = countries["detected"] / max(float(countries["detected"].sum()), 1e-12)
    out["activity_share"] = countries["true_activity"] / max(
        float(countries["true_activity"].sum()), 1e-12
    )
    out["gap"] = out["detection_share"] - out["activity_share"]
    return out
