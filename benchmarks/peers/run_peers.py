"""Forecast a panel with the peers on given rolling origins; runs in the peers' environment.

``python run_peers.py PANEL.csv ORIGINS HORIZON OUT.csv`` where ``PANEL.csv`` has
``unique_id, ds, y`` (regular periods, gaps already filled), ``ORIGINS`` is a comma-separated
list of origin dates and ``OUT.csv`` gets ``model, origin, unique_id, ds, prediction``. At each
origin every peer is fitted on the rows up to the origin only and forecasts ``HORIZON``
periods: the same folds as crossplan's backtest. This file imports nothing of crossplan.

The peers are what a data scientist would use: mlforecast with LightGBM on lags and rolling
means (recursive over the horizon, its default), and statsforecast's AutoETS and, for
intermittent series, CrostonSBA and ADIDA.
"""

from __future__ import annotations

import sys

import lightgbm as lgb
import pandas as pd
from mlforecast import MLForecast
from mlforecast.lag_transforms import RollingMean
from statsforecast import StatsForecast
from statsforecast.models import ADIDA, AutoETS, CrostonSBA


def _ml(freq: str) -> MLForecast:
    model = lgb.LGBMRegressor(random_state=0, n_jobs=1, verbose=-1)
    return MLForecast(
        models={"mlforecast_lightgbm": model},
        freq=freq,
        lags=[1, 2, 3],
        lag_transforms={1: [RollingMean(window_size=3), RollingMean(window_size=5)]},
    )


def _stats(freq: str) -> StatsForecast:
    models = [AutoETS(season_length=1, alias="autoets"), CrostonSBA(alias="croston_sba"),
              ADIDA(alias="adida")]  # fmt: skip
    return StatsForecast(models=models, freq=freq, n_jobs=1)


def main(panel_path: str, origins: str, horizon: str, out_path: str) -> None:
    panel = pd.read_csv(panel_path, parse_dates=["ds"])
    freq = pd.infer_freq(pd.DatetimeIndex(sorted(panel["ds"].unique())))
    h = int(horizon)
    frames = []
    for origin in pd.to_datetime(origins.split(",")):
        history = panel[panel["ds"] <= origin]
        ml = _ml(freq).fit(history, static_features=[]).predict(h)
        stats = _stats(freq).forecast(df=history, h=h)
        for forecast in (ml, stats):
            long = forecast.melt(["unique_id", "ds"], var_name="model", value_name="prediction")
            frames.append(long.assign(origin=origin))
    out = pd.concat(frames, ignore_index=True)
    out[["model", "origin", "unique_id", "ds", "prediction"]].to_csv(out_path, index=False)


if __name__ == "__main__":
    main(*sys.argv[1:5])
