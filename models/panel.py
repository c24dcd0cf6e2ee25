"""Dense (category, region, period) arrays built from a long incident panel.

Forecasters work on dense arrays because lags, rolling windows and spatial lags are then
plain array operations. Cells that have no row in the panel are ``NaN``: missing periods are
missing, not zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crossplan.models.errors import PanelError
from crossplan.optimize.periods import FREQUENCIES, frequency_of, period_range

__all__ = ["PanelArrays", "infer_frequency", "to_arrays"]


def infer_frequency(periods: pd.Series | pd.DatetimeIndex) -> str:
    """The coarsest frequency whose period starts every date is
    (:func:`optimize.periods.frequency_of`).

    Raises
    ------
    PanelError
        When no frequency fits every date.
    """
    frequency = frequency_of(periods)
    if frequency is None:
        raise PanelError(
            "the periods match no frequency: weekly periods start on a Monday, monthly on the "
            "first of a month, yearly on 1 January"
        )
    return frequency


@dataclass(frozen=True)
class PanelArrays:
    """A long panel as dense arrays of shape ``(categories, regions, periods)``.

    ``total`` is ``reported + detected`` (or ``count``); ``effort`` is ``None`` for
    count-only panels. ``covariates`` holds the time-varying ``cov_*`` columns.
    """

    categories: np.ndarray
    regions: np.ndarray
    periods: pd.DatetimeIndex
    frequency: str
    total: np.ndarray
    reported: np.ndarray | None = None
    detected: np.ndarray | None = None
    effort: np.ndarray | None = None
    covariates: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def has_effort(self) -> bool:
        return self.effort is not None

    @property
    def shape(self) -> tuple[int, int, int]:
        c, r, t = self.total.shape
        return int(c), int(r), int(t)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def to_arrays(
    panel: pd.DataFrame,
    *,
    frequency: str | None = None,
    regions: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    region_col: str = "region_id",
    time_col: str = "period",
    category_col: str = "category",
) -> PanelArrays:
    """Densify a long panel.

    Parameters
    ----------
    panel
        One row per (region, period, category) with ``reported``, ``detected`` and
        ``effort`` or with ``count``, and optional ``cov_*`` columns. Not modified.
    frequency
        ``weekly``, ``monthly`` or ``yearly``; inferred from the periods when ``None``.
    regions, categories
        Fix the order (and superset) of regions and categories, e.g. those seen in training.
        Rows of other regions or categories raise ``ValueError``.
    """
    if panel.empty:
        raise PanelError("the panel has no rows")
    periods = pd.DatetimeIndex(pd.to_datetime(panel[time_col]))
    freq = frequency or infer_frequency(periods)
    if freq not in FREQUENCIES:
        raise PanelError(f"unknown frequency {freq!r}; expected one of {FREQUENCIES}")
    grid = period_range(periods.min(), periods.max(), freq)
    cats = (
        panel[category_col].astype(str) if category_col in panel else pd.Series("all", panel.index)
    )
    region_ids = panel[region_col].astype(str)
    reg_order = np.asarray(regions if regions is not None else np.sort(region_ids.unique()), object)
    cat_order = np.asarray(categories if categories is not None else np.sort(cats.unique()), object)
    r_idx = pd.Index(reg_order).get_indexer(region_ids)
    c_idx = pd.Index(cat_order).get_indexer(cats)
    t_idx = grid.get_indexer(periods)
    if (r_idx < 0).any():
        unknown = sorted(set(region_ids[r_idx < 0]))[:5]
        raise PanelError(f"regions not known to the model: {unknown}")
    if (c_idx < 0).any():
        unknown = sorted(set(cats[c_idx < 0]))[:5]
        raise PanelError(f"categories not known to the model: {unknown}")
    if (t_idx < 0).any():
        raise PanelError(f"some periods are not {freq} period starts aligned with the first one")
    shape = (len(cat_order), len(reg_order), len(grid))

    def dense(values: np.ndarray) -> np.ndarray:
        out = np.full(shape, np.nan)
        out[c_idx, r_idx, t_idx] = values
        return out

    has_effort = {"reported", "detected", "effort"} <= set(panel.columns)
    reported = detected = effort = None
    if has_effort:
        reported = dense(_column(panel, "reported"))
        detected = dense(_column(panel, "detected"))
        effort = dense(_column(panel, "effort"))
        total = reported + detected
    elif "count" in panel.columns:
        total = dense(_column(panel, "count"))
    elif {"reported", "detected"} <= set(panel.columns):
        total = dense(_column(panel, "reported") + _column(panel, "detected"))
    else:
        raise PanelError("the panel needs 'reported', 'detected' and 'effort', or 'count'")
    covs = {c: dense(_column(panel, c)) for c in sorted(panel.columns) if c.startswith("cov_")}
    return PanelArrays(
        categories=cat_order,
        regions=reg_order,
        periods=grid,
        frequency=freq,
        total=total,
        reported=reported,
        detected=detected,
        effort=effort,
        covariates=covs,
    )
