"""Direct multi-horizon forecasting with a tabular regressor on the features.

One regressor serves every horizon: each training row is a (cell, origin, horizon) with the
origin's features, the target period's features and the horizon itself as a feature. This is
the *direct* strategy. A recursive one would have to feed its own forecasts back in, and with
them the reported, detected and effort series of future periods, which depend on patrol
plans that are not made yet; direct forecasts need none of that, and their errors do not
compound over the horizon.

The regressor learns *relative to each cell's own recent level*. Cells differ by orders of
magnitude (a few incidents a year in one, thousands in another) and a tree cannot forecast
beyond the values it has seen in its leaves, so one fitted to raw counts forecasts a growing
large cell at the largest level it has seen and spreads small cells' noise over large ones.
Here the target is the observed count of the target period with the offset
``exposure * level`` (the cell's recent level at the origin, :func:`~models.features.recent_level`,
times its exposure to detection), written as label ``count / offset`` with weight ``offset``
(the same Poisson likelihood): the regressor learns the *ratio* of the coming activity to the
recent level, from scale-free features (the recent series over its level, the level's log,
growth and the share of zeros) next to the raw ones. A forecast is the level times that
ratio, so it moves with the cell's own scale. ``relative=False`` learns absolute activity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from crossplan.models.base import PanelForecaster, RegressorFit, fit_here
from crossplan.models.features import feature_spec, horizon_features, origin_features, recent_level
from crossplan.models.panel import PanelArrays

__all__ = ["FeatureForecaster"]


class FeatureForecaster(PanelForecaster):
    """Base of the feature-based forecasters; subclasses build the regressor."""

    max_train_rows: int | None
    random_state: int | None
    relative: bool

    def _make_estimator(self) -> Any:
        raise NotImplementedError

    def _left_out(self, data: PanelArrays) -> frozenset[str]:
        """Features this model does not use (none here)."""
        return frozenset()

    def _prepare(self, data: PanelArrays, activity: np.ndarray) -> Any:
        level = None
        if self.relative:
            level = recent_level(activity, feature_spec(data.frequency).level)
        names, origin = origin_features(
            data,
            activity,
            self.context_,
            use_effort=self.target_ == "activity",
            level=level,
            leave_out=self._left_out(data),
        )
        by_h = {}
        h_names: list[str] = []
        for h in range(1, int(self.horizon) + 1):
            h_names, block = horizon_features(data, activity, h)
            if level is not None and "y_season" in h_names:
                season = block[..., h_names.index("y_season")] / level
                block = np.concatenate([block, season[..., None].astype(np.float32)], axis=-1)
            by_h[h] = block
        if level is not None and "y_season" in h_names:
            h_names = [*h_names, "rel_season"]
        scale = np.ones(data.shape) if level is None else level
        return origin, by_h, names + h_names, scale

    @staticmethod
    def _rows(prep: Any, h: int, origins: np.ndarray) -> np.ndarray:
        origin, by_h, _, _ = prep
        block = np.concatenate([origin[:, :, origins], by_h[h][:, :, origins]], axis=-1)
        return block.reshape(-1, block.shape[-1])

    def _fit_core(
        self,
        prep: Any,
        data: PanelArrays,
        exposure: np.ndarray,
        last: int,
        fitter: RegressorFit = fit_here,
    ) -> None:
        # Which rows of each horizon have a label, then one array of exactly the rows kept,
        # filled a horizon at a time: the training matrix exists once, never as a list of
        # pieces and their concatenation (the peak of a large panel's fit).
        scale = prep[3]
        parts = []
        for h in range(1, int(self.horizon) + 1):
            origins = np.arange(0, last - h + 1)
            if not len(origins):
                continue
            y = data.total[:, :, origins + h].ravel()
            w = (exposure[:, :, origins + h] * scale[:, :, origins]).ravel()
            ok = np.isfinite(y) & np.isfinite(w) & (w > 0)
            parts.append((h, origins, ok, y[ok] / w[ok], w[ok]))
        n = sum(len(part[3]) for part in parts)
        if not n:
            raise ValueError(
                f"too few periods to train: {data.shape[2]} periods for horizon {self.horizon}"
            )
        keep = np.ones(n, bool)
        if self.max_train_rows is not None and n > self.max_train_rows:
            rng = np.random.default_rng(self.random_state)
            keep[:] = False
            keep[rng.choice(n, int(self.max_train_rows), replace=False)] = True
        x = np.empty((int(keep.sum()), len(prep[2])), np.float32)
        labels, weights = [], []
        start = row = 0
        for h, origins, ok, label, weight in parts:
            mine = keep[start : start + len(label)]
            chosen = ok.copy()
            chosen[ok] = mine
            size = int(mine.sum())
            np.compress(chosen, self._rows(prep, h, origins), axis=0, out=x[row : row + size])
            labels.append(label[mine])
            weights.append(weight[mine])
            start, row = start + len(label), row + size
        label, weight = np.concatenate(labels), np.concatenate(weights)
        self.feature_names_ = list(prep[2])
        # One BLAS thread: on a shared 2-core machine, threads that wait for each other make
        # a linear model's fit many times slower (the same reason LightGBM uses one thread).
        with threadpool_limits(limits=1, user_api="blas"):
            self.estimator_ = fitter(
                self._make_estimator(), x, label, **self._weight_kwargs(weight)
            )
        self.n_train_rows_ = len(x)

    def _weight_kwargs(self, weight: np.ndarray) -> dict[str, np.ndarray]:
        return {"sample_weight": weight}

    def _predict_core(self, prep: Any, data: PanelArrays, origins: np.ndarray) -> np.ndarray:
        c_n, r_n = data.shape[:2]
        h_n = int(self.horizon)
        out = np.empty((c_n, r_n, len(origins), h_n))
        for h in range(1, h_n + 1):
            pred = self.estimator_.predict(self._rows(prep, h, origins))
            ratio = np.asarray(pred, float).reshape(c_n, r_n, len(origins))
            out[..., h - 1] = ratio * prep[3][:, :, origins]
        return out
