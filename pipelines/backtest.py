"""Rolling-origin backtests: every model on the same folds, scored per model, horizon, country.

For each origin among the last ``origins`` periods, every model is fitted on the rows up to
that origin (the panel is cut there, so nothing later can leak in) and forecasts horizons
1..H. Forecasts of effort-aware models are of activity; to score them against observed
counts they are turned into expected observations at the effort actually spent in the
target period (a plan's effort is known when its forecast is used). On synthetic worlds the
activity forecasts are also scored against the true activity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from crossplan.models import (
    BlendForecaster,
    LastValue,
    MovingAverage,
    PanelForecaster,
    PoissonGLM,
    RiskForecaster,
    SeasonalNaive,
)
from crossplan.models.base import RegressorFit
from crossplan.models.intervals import CountIntervals
from crossplan.pipelines.cluster import Local, Runner
from crossplan.pipelines.forecast_rows import SPILL_BYTES, ForecastRows
from crossplan.pipelines.metrics import score

__all__ = [
    "BACKTEST_ORIGINS",
    "FORECAST_MEANS",
    "HORIZON",
    "PIT_COLUMNS",
    "BacktestResult",
    "ProgressCallback",
    "add_pit",
    "backtest",
    "candidates",
    "cross_validation_frame",
    "default_models",
    "every_row",
    "lightgbm_rows",
]

ProgressCallback = Callable[[int, int, str], None]
#: The largest horizon forecast by default, in periods (backtests and training alike).
HORIZON = 4
#: Forecast origins of a backtest by default.
BACKTEST_ORIGINS = 26
_KEYS = ["region_id", "category", "period"]
# What one task gives: per origin of its block, the forecast rows and the held-out forecasts
# its intervals were calibrated on.
_Block = list[tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame]]
_OUTCOMES = ("actual", "true_activity", "true_incidents")


def default_models(horizon: int, *, random_state: int = 0) -> dict[str, PanelForecaster]:
    """The models every backtest compares: the main model, its naive twin and baselines."""
    return {
        "lightgbm": RiskForecaster(horizon=horizon, random_state=random_state),
        "lightgbm_naive": RiskForecaster(
            effort_aware=False, horizon=horizon, random_state=random_state
        ),
        "poisson_glm": PoissonGLM(horizon=horizon),
        "seasonal_naive": SeasonalNaive(horizon=horizon),
        "moving_average": MovingAverage(horizon=horizon),
        "last_value": LastValue(horizon=horizon),
    }


def candidates(
    horizon: int, *, has_effort: bool, random_state: int = 0
) -> dict[str, PanelForecaster]:
    """The models a panel's backtest compares: :func:`default_models`, less the naive twin
    on count-only panels (where it would repeat the main model)."""
    models = default_models(horizon, random_state=random_state)
    if not has_effort:
        del models["lightgbm_naive"]
    return models


@dataclass(frozen=True)
class BacktestResult:
    """Every backtest forecast and the metrics computed from them.

    ``rows`` holds the forecasts, on disk beyond a budget (:mod:`pipelines.forecast_rows`);
    each candidate is scored on its own rows.
    """

    rows: ForecastRows
    origins: list[pd.Timestamp]
    horizon: int
    has_truth: bool
    #: Per model and origin, the held-out forecasts its intervals were calibrated on (those
    #: of the fit that forecast from the origin; :data:`models.base.CALIBRATION_COLUMNS`).
    calibration: dict[str, dict[pd.Timestamp, pd.DataFrame]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _scores: dict[str | None, dict[str, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def predictions(self) -> pd.DataFrame:
        """Every forecast row in one frame (``rows.read()``): for writing them out; scoring
        reads a candidate at a time."""
        return self.rows.read()

    def metrics(self, by: str | None = None) -> dict[str, Any]:
        """``{model: {"observed": {...}, "truth": {...}}}``, optionally per ``by`` value.

        ``by`` is ``None``, ``"horizon"`` or ``"country"``; with it, each scope maps group
        values (as strings) to metrics. Computed once per ``by`` (the predictions are fixed).
        """
        if by not in self._scores:
            self._scores[by] = self._metrics(by)
        return self._scores[by]

    def _metrics(self, by: str | None) -> dict[str, Any]:
        scopes = ["observed", "truth"] if self.has_truth else ["observed"]
        out: dict[str, Any] = {}
        for name in self.rows.models:
            frame = self.rows.read([name])
            out[str(name)] = {}
            for scope in scopes:
                if by is None:
                    out[str(name)][scope] = score(frame, scope)
                else:
                    out[str(name)][scope] = {
                        str(k): score(g, scope) for k, g in frame.groupby(by, sort=True)
                    }
        return out

    def to_json(self) -> dict[str, Any]:
        """The results file of ``crossplan backtest --json``."""
        overall = self.metrics()
        by_h, by_c = self.metrics("horizon"), self.metrics("country")
        models = {
            name: {**scopes, "by_horizon": by_h[name], "by_country": by_c[name]}
            for name, scopes in overall.items()
        }
        return {
            "models": models,
            "origins": [f"{o:%Y-%m-%d}" for o in self.origins],
            "horizon": self.horizon,
            "truth": self.has_truth,
        }


#: The forecast means of a backtest row and their 80% interval: of observations, of activity.
FORECAST_MEANS = (("prediction", "q10", "q90"), ("activity_mean", "activity_q10", "activity_q90"))


def _fold_rows(
    model: PanelForecaster,
    history: pd.DataFrame,
    outcomes: pd.DataFrame,
    horizon: int,
    origin: pd.Timestamp,
) -> pd.DataFrame:
    if isinstance(model, BlendForecaster):
        # Each member's forecast becomes expected observations its own way; the blend's
        # means are their weighted means, its quantiles the blend's own.
        parts = [_fold_rows(m, history, outcomes, horizon, origin) for _, m in model.members_]
        rows = parts[0].copy()
        h = rows["horizon"].to_numpy(int)
        for mean, lo, hi in FORECAST_MEANS:
            rows[mean] = model.blend_means([p[mean].to_numpy(float) for p in parts], h)
            q = model.intervals_.quantiles(rows[mean].to_numpy(float), h)
            rows[lo], rows[hi] = q["q10"], q["q90"]
        return add_pit(rows, model.intervals_)
    forecast = model.predict(history, horizon=horizon)
    periods = np.sort(forecast["period"].unique())
    forecast["horizon"] = np.searchsorted(periods, forecast["period"].to_numpy()) + 1
    observed = outcomes[outcomes["period"].isin(periods)]
    forecast = forecast.merge(observed, on=_KEYS, how="left")
    effort = forecast["effort"] if "effort" in forecast else pd.Series(0.0, forecast.index)
    expected = model.expected_observations(forecast, effort.fillna(0.0))
    forecast["prediction"] = expected["mean"]
    forecast["q10"], forecast["q90"] = expected["q10"], expected["q90"]
    forecast["origin"] = origin
    return add_pit(forecast, model.intervals_)


#: Each forecast mean, the outcome it is a forecast of, and the columns of the bounds of
#: its randomized PIT (:meth:`models.intervals.CountIntervals.pit`).
PIT_COLUMNS = (
    ("prediction", "actual", "pit_lo", "pit_hi"),
    ("activity_mean", "true_incidents", "activity_pit_lo", "activity_pit_hi"),
)


def _refit_block(
    panel: pd.DataFrame,
    outcomes: pd.DataFrame,
    regions: pd.DataFrame,
    adjacency: pd.DataFrame,
    *,
    name: str,
    template: PanelForecaster,
    block: list[pd.Timestamp],
    horizon: int,
    frequency: str | None,
    fitter: RegressorFit | None = None,
) -> _Block:
    """One fit at the block's first origin, forecasting from each of its origins: per
    origin, the forecast rows and the held-out forecasts the intervals were calibrated on."""
    fitted = clone(template).fit(
        panel[panel["period"] <= block[0]], regions, adjacency, frequency=frequency,
        fitter=fitter,
    )  # fmt: skip
    out = []
    for origin in block:
        rows = _fold_rows(fitted, panel[panel["period"] <= origin], outcomes, horizon, origin)
        out.append((origin, rows.assign(model=name), fitted.calibration_))
    return out


def every_row(model: PanelForecaster) -> PanelForecaster:
    """``model`` fitting LightGBM on every training row, without the one-process cap
    (:data:`models.forecaster.LGBM_TRAIN_ROWS`): what a cluster that spreads fits runs."""
    if isinstance(model, RiskForecaster):
        return clone(model).set_params(max_train_rows=None)
    return model


def lightgbm_rows(model: PanelForecaster, panel: pd.DataFrame) -> int:
    """The most rows a LightGBM training matrix of ``model`` fitted on ``panel`` can have
    (0 if it fits no LightGBM): one per cell, origin and horizon, before the rows without a
    label are dropped, at most the model's ``max_train_rows``.

    A cluster's runner spreads a task's fit over its workers from a number of rows
    (:mod:`pipelines.cluster`); this says which tasks may reach it before they run.
    """
    horizon = int(model.get_params()["horizon"])
    members = model.get_params().get("members") or [(None, model)]
    cells = panel["region_id"].nunique() * panel["category"].nunique()
    periods = panel["period"].nunique()
    rows = cells * sum(max(periods - h, 0) for h in range(1, horizon + 1))
    found = [
        min(rows, m.max_train_rows or rows) for _, m in members if isinstance(m, RiskForecaster)
    ]
    return int(max(found, default=0))


def add_pit(rows: pd.DataFrame, intervals: CountIntervals) -> pd.DataFrame:
    """``rows`` with the PIT bounds of each forecast under ``intervals`` (NaN without outcome)."""
    h = rows["horizon"].to_numpy(int)
    for mean, outcome, lo, hi in PIT_COLUMNS:
        y = rows[outcome].to_numpy(float) if outcome in rows else np.full(len(rows), np.nan)
        rows[lo], rows[hi] = intervals.pit(y, rows[mean].to_numpy(float), h)
    return rows


def backtest(
    panel: pd.DataFrame,
    regions: pd.DataFrame,
    adjacency: pd.DataFrame,
    models: Mapping[str, PanelForecaster],
    *,
    origins: int = BACKTEST_ORIGINS,
    horizon: int = HORIZON,
    refit_every: int = 1,
    truth: pd.DataFrame | None = None,
    frequency: str | None = None,
    progress: ProgressCallback | None = None,
    runner: Runner | None = None,
    spill_bytes: int = SPILL_BYTES,
) -> BacktestResult:
    """Rolling-origin backtest of ``models`` (cloned, never modified) on the same folds.

    Parameters
    ----------
    panel, regions, adjacency
        The validated dataset's incidents, regions and neighbour pairs.
    models
        Name to unfitted forecaster.
    origins
        Number of forecast origins: the last ``origins`` periods that have a later period.
    horizon
        Horizons 1..``horizon`` from each origin (fewer at the end of the data).
    refit_every
        Refit every this many origins; in between, the last fit forecasts from the new
        origin's data (cheaper, and still nothing after the origin is used).
    truth
        ``truth.parquet`` of a synthetic world, to also score against the true activity.
    progress
        Called with (done, total, label) as the origins' forecasts are made.
    runner
        Where the fits run (:mod:`pipelines.cluster`): this process by default, or a Dask
        cluster; each candidate's block of ``refit_every`` origins is one task, and the
        result is the same wherever they run.
    spill_bytes
        Bytes of forecast rows held in memory; beyond, they are kept on disk as each task
        ends (:class:`~pipelines.forecast_rows.ForecastRows`).
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if origins < 1 or refit_every < 1:
        raise ValueError("origins and refit_every must be at least 1")
    periods = pd.DatetimeIndex(np.sort(panel["period"].unique()))
    if len(periods) < origins + 3:
        raise ValueError(
            f"{len(periods)} periods are too few for {origins} backtest origins; use fewer origins"
        )
    folds = list(periods[-origins - 1 : -1])
    observed = panel["reported"] + panel["detected"] if "reported" in panel else panel["count"]
    outcomes = panel.assign(actual=observed.astype("float64"))
    if truth is not None:
        t = truth.rename(columns={"activity_rate": "true_activity", "incidents": "true_incidents"})
        t = t.assign(period=pd.to_datetime(t["period"]).astype(panel["period"].dtype))
        outcomes = outcomes.merge(
            t[[*_KEYS, "true_activity", "true_incidents"]], on=_KEYS, how="outer"
        )
    area = regions.set_index("region_id")["area_km2"] if "area_km2" in regions else None
    country = regions.set_index("region_id")["country"]
    blocks = [folds[i : i + refit_every] for i in range(0, len(folds), refit_every)]
    tasks: list[dict[str, Any]] = [
        {"name": n, "template": m, "block": b} for n, m in models.items() for b in blocks
    ]
    total, count = len(models) * len(folds), [0]

    def done(i: int) -> None:
        count[0] += len(tasks[i]["block"])
        if progress is not None:
            progress(count[0], total, f"{tasks[i]['name']} @ {tasks[i]['block'][-1]:%Y-%m-%d}")

    shared = {"panel": panel, "outcomes": outcomes, "regions": regions, "adjacency": adjacency}
    # How large each task's LightGBM fit may be: a cluster spreads the largest ones.
    rows = [lightgbm_rows(t["template"], panel[panel["period"] <= t["block"][0]]) for t in tasks]
    columns = [
        "model", "origin", "horizon", "region_id", "category", "period", "actual",
        "prediction", "q10", "q90", "activity_mean", "activity_q10", "activity_q90",
        "pit_lo", "pit_hi", "country", "area_km2",
    ]  # fmt: skip
    if truth is not None:
        columns += ["true_activity", "true_incidents", "activity_pit_lo", "activity_pit_hi"]
    kept = ForecastRows(spill_bytes)
    calibration: dict[str, dict[pd.Timestamp, pd.DataFrame]] = {}

    def keep(i: int, block: _Block) -> _Block:
        """Store a task's rows and calibrations as it ends; the runner holds on to nothing."""
        for origin, rows, fold_calibration in block:
            rows = rows[rows["period"] <= periods[-1]]  # horizons past the data
            rows = rows.assign(
                country=rows["region_id"].map(country).astype(str),
                area_km2=rows["region_id"].map(area).astype(float) if area is not None else 1.0,
            )
            # Outcomes are floats in every block, those with a missing one or not.
            rows = rows.astype({c: "float64" for c in _OUTCOMES if c in rows})
            kept.add(rows[columns].reset_index(drop=True), order=i)
            calibration.setdefault(tasks[i]["name"], {})[origin] = fold_calibration
        return []

    (runner or Local()).run(
        partial(_refit_block, horizon=horizon, frequency=frequency), tasks, shared, done, rows,
        keep=keep,
    )  # fmt: skip
    # Each task's calibrations, by origin in order, whatever order the tasks ended in.
    calibration = {n: dict(sorted(calibration[n].items())) for n in models if n in calibration}
    return BacktestResult(kept, folds, horizon, truth is not None, calibration)


#: The level of the one interval a backtest row carries, ``[q10, q90]``.
_LEVEL = 80


def cross_validation_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    """Backtest forecasts in the layout of Nixtla's ``cross_validation`` output.

    One row per series (``unique_id``: ``region_id/category``), target period (``ds``) and
    origin (``cutoff``) with the observed count ``y``, then per model its mean (column named
    after the model) and 80% interval (``{model}-lo-80``, ``{model}-hi-80``), the names
    statsforecast gives them, so ``utilsforecast.evaluation.evaluate`` reads it as it is.
    Rows with no observed count are left out.
    """
    rows = predictions.dropna(subset=["actual"])
    keys = ["unique_id", "ds", "cutoff"]
    frame = rows.assign(
        unique_id=rows["region_id"].astype(str) + "/" + rows["category"].astype(str),
        ds=rows["period"],
        cutoff=rows["origin"],
    )
    wide = frame.pivot(index=keys, columns="model", values=["prediction", "q10", "q90"])
    columns: dict[str, pd.Series] = {
        "y": frame.drop_duplicates(keys).set_index(keys)["actual"].reindex(wide.index)
    }
    for name in frame["model"].unique():
        columns[str(name)] = wide[("prediction", name)]
        columns[f"{name}-lo-{_LEVEL}"] = wide[("q10", name)]
        columns[f"{name}-hi-{_LEVEL}"] = wide[("q90", name)]
    return pd.DataFrame(columns).reset_index().sort_values(keys, ignore_index=True)
