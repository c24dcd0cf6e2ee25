"""Features of a region and category at a forecast origin, from data up to that origin only.

Every feature at origin ``t`` is computed from periods ``<= t``: lags and rolling means of the
activity series (observed counts, or counts corrected for effort) and of reported, detected
and effort; trends; time-varying ``cov_*`` covariates with lags (they lead activity);
static region covariates; spatial lags (recent activity of neighbours in the same country
and, separately, across a border). Horizon features describe the target period ``t + h``,
which is known in advance: ``h`` itself, its place in the seasonal cycle, and the activity one
seasonal cycle before it.

The array functions work on ``(categories, regions, periods)`` arrays; :func:`make_features`
is the same thing as a DataFrame, for inspection and tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from crossplan.models.panel import PanelArrays, to_arrays
from crossplan.optimize.periods import future_periods, season_length

__all__ = [
    "LEVEL_FLOOR",
    "FeatureSpec",
    "RegionContext",
    "feature_spec",
    "horizon_features",
    "lag",
    "make_features",
    "origin_features",
    "recent_change_features",
    "recent_level",
    "region_context",
    "relative_features",
    "rolling_mean",
]


@dataclass(frozen=True)
class FeatureSpec:
    """Windows, in periods, that suit one frequency."""

    lags: tuple[int, ...]
    windows: tuple[int, ...]
    trend: int
    cov_lags: tuple[int, ...]
    level: int


_SPECS = {
    "weekly": FeatureSpec(
        lags=(0, 1, 2, 3),
        windows=(4, 13, 26, 52),
        trend=4,
        cov_lags=(0, 1, 2, 3, 4, 5),
        level=13,
    ),
    "monthly": FeatureSpec(
        lags=(0, 1, 2), windows=(3, 6, 12), trend=3, cov_lags=(0, 1, 2), level=6
    ),
    "yearly": FeatureSpec(lags=(0, 1), windows=(2, 3, 5), trend=2, cov_lags=(0, 1), level=3),
}
#: The smallest recent level: a cell with nothing recent is forecast relative to this.
LEVEL_FLOOR = 0.1


def feature_spec(frequency: str) -> FeatureSpec:
    """The feature windows used for ``frequency``."""
    return _SPECS[frequency]


def lag(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` shifted ``k >= 0`` periods later along the last axis; the first ``k`` are NaN."""
    if k == 0:
        return x.copy()
    out = np.full(x.shape, np.nan, dtype=float)
    if k < x.shape[-1]:
        out[..., k:] = x[..., :-k]
    return out


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` periods up to and including each one, skipping NaN.

    NaN where the window holds no value.
    """
    valid = np.isfinite(x)
    total = np.cumsum(np.where(valid, x, 0.0), axis=-1)
    count = np.cumsum(valid, axis=-1).astype(float)
    total[..., window:] -= total[..., :-window].copy()
    count[..., window:] -= count[..., :-window].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def recent_level(x: np.ndarray, window: int, floor: float = LEVEL_FLOOR) -> np.ndarray:
    """Each cell's recent level at every origin: the mean of its last ``window`` values.

    Where the window holds no value, the mean of everything before; never below ``floor``
    (and ``floor`` where there is no history at all), so it can divide.
    """
    level = rolling_mean(x, window)
    level = np.where(np.isfinite(level), level, _expanding_mean(x))
    return np.maximum(np.nan_to_num(level, nan=floor), floor)


def relative_features(
    activity: np.ndarray, level: np.ndarray, spec: FeatureSpec
) -> tuple[list[str], list[np.ndarray]]:
    """Scale-free features: the recent series over its own level, the level and its trend.

    Every cell, whether it sees one incident a year or thousands, is described on the same
    scale, so what a tree learns on large cells carries over to small ones and back.
    """
    names = ["log_level"]
    blocks = [np.log(level)]
    for k in spec.lags:
        names.append(f"rel_lag{k}")
        blocks.append(lag(activity, k) / level)
    for w in spec.windows:
        names.append(f"rel_mean{w}")
        blocks.append(rolling_mean(activity, w) / level)
    short, long = rolling_mean(activity, spec.windows[0]), rolling_mean(activity, spec.windows[-1])
    names += [f"log_growth{spec.trend}", "log_short_long", "zero_share"]
    with np.errstate(invalid="ignore", divide="ignore"):
        blocks.append(np.log((short + LEVEL_FLOOR) / (lag(short, spec.trend) + LEVEL_FLOOR)))
        blocks.append(np.log((short + LEVEL_FLOOR) / (long + LEVEL_FLOOR)))
        blocks.append(rolling_mean((activity == 0).astype(float), spec.level))
    return names, blocks


def recent_change_features(spec: FeatureSpec) -> frozenset[str]:
    """The features of how the series moved lately, not of its level: the single lags
    before the last (raw and relative), the trend and the growth ratios.

    The last value and the rolling means (and the value a season before the target, a
    horizon feature) say where a cell stands. A tree splits on these ones and forecasts
    within the values it has seen; a model linear in their logs extrapolates them, and in a
    sparse cell a short run of single incidents is a large growth ratio.
    """
    names = {f"{kind}_lag{k}" for kind in ("y", "rel") for k in spec.lags[1:]}
    return frozenset(names | {f"y_trend{spec.trend}", f"log_growth{spec.trend}", "log_short_long"})


@dataclass(frozen=True)
class RegionContext:
    """What is known about regions besides the panel, aligned with the panel's regions."""

    region_ids: np.ndarray
    country: np.ndarray
    static_names: tuple[str, ...]
    static: np.ndarray
    within: sparse.csr_matrix
    cross: sparse.csr_matrix


def region_context(
    region_ids: np.ndarray,
    regions: pd.DataFrame | None = None,
    adjacency: pd.DataFrame | None = None,
) -> RegionContext:
    """Static covariates, countries and neighbour matrices for ``region_ids`` (in that order).

    Without ``regions`` every region is in country ``"all"`` and there are no static
    features; without ``adjacency`` there are no neighbours.
    """
    ids = np.asarray(region_ids, object)
    n = len(ids)
    names: list[str] = []
    columns: list[np.ndarray] = []
    country = np.full(n, "all", dtype=object)
    if regions is not None:
        table = regions.assign(region_id=regions["region_id"].astype(str)).set_index("region_id")
        table = table.reindex(pd.Index(ids))
        if "country" in table:
            country = table["country"].astype(object).fillna("unknown").to_numpy(object)
            names.append("country_code")
            columns.append(pd.Index(np.unique(country)).get_indexer(country).astype(float))
        if "kind" in table:
            names.append("kind_code")
            kinds = table["kind"].astype(object).fillna("unknown").to_numpy(object)
            columns.append(pd.Index(np.unique(kinds)).get_indexer(kinds).astype(float))
        for col in ("lon", "lat", "area_km2", *sorted(c for c in table if c.startswith("cov_"))):
            if col in table:
                names.append(col)
                columns.append(pd.to_numeric(table[col], errors="coerce").to_numpy(float))
    static = np.column_stack(columns) if columns else np.zeros((n, 0))
    within = cross = sparse.csr_matrix((n, n))
    if adjacency is not None and len(adjacency):
        pos = pd.Index(ids)
        i = pos.get_indexer(adjacency["region_id"].astype(str))
        j = pos.get_indexer(adjacency["neighbour_id"].astype(str))
        border = adjacency["cross_border"].astype(bool).to_numpy()
        ok = (i >= 0) & (j >= 0)
        for flag in (False, True):
            sel = ok & (border == flag)
            m = sparse.csr_matrix((np.ones(sel.sum()), (i[sel], j[sel])), shape=(n, n))
            m.data[:] = 1.0  # duplicate pairs count once
            if flag:
                cross = m
            else:
                within = m
    return RegionContext(ids, country, tuple(names), static, within, cross)


def _neighbour_mean(x: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
    """Mean of ``x`` (C, R, T) over each region's neighbours, skipping NaN."""
    valid = np.isfinite(x)
    out = np.full(x.shape, np.nan)
    for c in range(x.shape[0]):
        total = matrix @ np.where(valid[c], x[c], 0.0)
        count = matrix @ valid[c].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def origin_features(
    data: PanelArrays,
    activity: np.ndarray,
    context: RegionContext,
    *,
    use_effort: bool = True,
    level: np.ndarray | None = None,
    leave_out: frozenset[str] = frozenset(),
) -> tuple[list[str], np.ndarray]:
    """Features at every origin: names and an array of shape ``(C, R, T, F)`` (float32).

    ``activity`` is the series the model forecasts (counts, or counts corrected for effort);
    ``use_effort=False`` leaves out the reported, detected and effort series; ``level``
    (each cell's :func:`recent_level`) adds the :func:`relative_features`; the features named
    in ``leave_out`` are not made.
    """
    spec = feature_spec(data.frequency)
    c_n, r_n, t_n = data.shape
    names: list[str] = []
    blocks: list[np.ndarray] = []

    def add(name: str, values: np.ndarray) -> None:
        if name in leave_out:
            return
        names.append(name)
        blocks.append(np.broadcast_to(values, (c_n, r_n, t_n)).astype(np.float32))

    for k in spec.lags:
        add(f"y_lag{k}", lag(activity, k))
    means = {w: rolling_mean(activity, w) for w in spec.windows}
    for w, m in means.items():
        add(f"y_mean{w}", m)
    short = means[spec.windows[0]]
    add(f"y_trend{spec.trend}", short - lag(short, spec.trend))
    add("y_mean_all", _expanding_mean(activity))
    if level is not None:
        for name, block in zip(*relative_features(activity, level, spec), strict=True):
            add(name, block)
    if use_effort and data.has_effort:
        assert data.reported is not None and data.detected is not None and data.effort is not None
        for label, series in (("reported", data.reported), ("detected", data.detected)):
            add(f"{label}_lag0", series)
            add(f"{label}_mean{spec.windows[1]}", rolling_mean(series, spec.windows[1]))
        add("effort_lag0", data.effort)
        add(f"effort_mean{spec.windows[0]}", rolling_mean(data.effort, spec.windows[0]))
    for cov, series in data.covariates.items():
        for k in spec.cov_lags:
            add(f"{cov}_lag{k}", lag(series, k))
        add(f"{cov}_change", series - lag(series, spec.cov_lags[-1]))
    for label, matrix in (("within", context.within), ("cross", context.cross)):
        add(f"nb_{label}_lag0", _neighbour_mean(activity, matrix))
        add(f"nb_{label}_mean{spec.windows[0]}", _neighbour_mean(short, matrix))
    for j, name in enumerate(context.static_names):
        add(name, context.static[None, :, j, None])
    add("category_code", np.arange(c_n, dtype=float)[:, None, None])
    return names, np.stack(blocks, axis=-1)


def _expanding_mean(x: np.ndarray) -> np.ndarray:
    valid = np.isfinite(x)
    total = np.cumsum(np.where(valid, x, 0.0), axis=-1)
    count = np.cumsum(valid, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def horizon_features(
    data: PanelArrays, activity: np.ndarray, h: int
) -> tuple[list[str], np.ndarray]:
    """Features of the target period ``t + h`` for every origin ``t``: ``(C, R, T, F)``."""
    c_n, r_n, t_n = data.shape
    season = season_length(data.frequency)
    targets = data.periods.append(future_periods(data.periods[-1], data.frequency, h))[h:]
    names = ["horizon"]
    blocks = [np.full((c_n, r_n, t_n), float(h))]
    if season > 1:
        phase = 2 * np.pi * ((targets.day_of_year.to_numpy() - 1) / 365.25)
        names += ["season_sin", "season_cos"]
        blocks += [np.broadcast_to(np.sin(phase), (c_n, r_n, t_n))]
        blocks += [np.broadcast_to(np.cos(phase), (c_n, r_n, t_n))]
        # The target period one cycle earlier is season - h periods before the origin.
        back = season - h
        names += ["y_season", "y_season_mean3"]
        blocks += [lag(activity, back) if back >= 0 else np.full((c_n, r_n, t_n), np.nan)]
        smooth = rolling_mean(activity, 3)
        blocks += [lag(smooth, back - 1) if back >= 1 else np.full((c_n, r_n, t_n), np.nan)]
    return names, np.stack([b.astype(np.float32) for b in blocks], axis=-1)


def make_features(
    panel: pd.DataFrame,
    regions: pd.DataFrame | None = None,
    adjacency: pd.DataFrame | None = None,
    *,
    horizon: int = 1,
    frequency: str | None = None,
    region_col: str = "region_id",
    time_col: str = "period",
    category_col: str = "category",
) -> pd.DataFrame:
    """Features for every (region, category, origin) of a long panel and horizon ``horizon``.

    The activity series here is the observed total; forecasters that correct for effort
    pass their corrected series to :func:`origin_features` instead.

    Parameters
    ----------
    panel
        Long incident panel (not modified).
    regions, adjacency
        Region table (``region_id``, ``country``, ``cov_*`` ...) and neighbour pairs.
    horizon
        Periods ahead of the origin that the horizon features describe.

    Returns
    -------
    DataFrame
        One row per (``region_col``, ``category_col``, ``time_col``) where ``time_col`` is the
        origin, one column per feature.
    """
    data = to_arrays(
        panel,
        frequency=frequency,
        region_col=region_col,
        time_col=time_col,
        category_col=category_col,
    )
    context = region_context(data.regions, regions, adjacency)
    names, values = origin_features(data, data.total, context)
    h_names, h_values = horizon_features(data, data.total, horizon)
    c_n, r_n, t_n = data.shape
    stacked = np.concatenate([values, h_values], axis=-1).reshape(c_n * r_n * t_n, -1)
    index = pd.MultiIndex.from_product(
        [data.categories, data.regions, data.periods], names=[category_col, region_col, time_col]
    )
    frame = pd.DataFrame(stacked, index=index, columns=names + h_names)
    return frame.reorder_levels([region_col, category_col, time_col]).sort_index()
