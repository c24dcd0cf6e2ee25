"""One LightGBM fit spread over the workers of a Dask cluster (``lightgbm.dask``).

A training on a cluster sends each fit to one worker (:mod:`pipelines.cluster`). A LightGBM
fit whose training matrix has at least ``min_rows`` rows is instead run from this process
through :class:`DaskFit`, the :class:`~models.base.RegressorFit` it hands to the forecaster:
the matrix the forecaster built here is cut into one block of rows per worker, each block
placed on its worker, and ``lightgbm.dask.DaskLGBMRegressor`` trains on them together
(LightGBM's data-parallel learner: each worker bins and histograms its own rows; the
workers exchange histograms, not rows). What comes back is an ordinary
``lightgbm.LGBMRegressor`` (``to_local``), so the fitted forecaster pickles, logs to MLflow
and serves as a local one does.

It is not the same model to the last digit: each worker samples its own rows for bagging
and its own bins, so the trees differ from a one-process fit with the same seed (the test
bounds the difference of the backtest deviance).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DaskFit", "DistributedFit"]


@dataclass(frozen=True)
class DistributedFit:
    """A fit that went through ``lightgbm.dask``: its rows, and the rows each worker held."""

    rows: int
    partitions: dict[str, int]


@dataclass
class DaskFit:
    """Fits LightGBM regressors of at least ``min_rows`` rows across ``client``'s workers;
    anything else here. Every distributed fit is recorded in :attr:`fits`."""

    client: Any = field(repr=False)
    min_rows: int
    fits: list[DistributedFit] = field(default_factory=list)

    def __call__(self, estimator: Any, x: np.ndarray, y: np.ndarray, **fit_params: Any) -> Any:
        # LightGBM and Dask are imported here, when a fit is made: the settings and the light
        # commands read this module's package without loading them.
        from lightgbm import LGBMRegressor

        if not isinstance(estimator, LGBMRegressor) or len(x) < self.min_rows:
            return estimator.fit(x, y, **fit_params)
        import dask.array as da
        from dask import delayed
        from lightgbm.dask import DaskLGBMRegressor

        weight = fit_params.get("sample_weight")
        columns = [x, y] if weight is None else [x, y, weight]
        workers = sorted(self.client.scheduler_info(n_workers=-1)["workers"])
        bounds = np.linspace(0, len(x), len(workers) + 1).astype(int)
        blocks: list[list[Any]] = [[] for _ in columns]
        placed, partitions = [], {}
        for worker, start, stop in zip(workers, bounds[:-1], bounds[1:], strict=True):
            if stop == start:
                continue
            # One block of rows per worker, sent there once (scatter, not the task graph),
            # under keys of its own: a key from the blocks' contents could be one an earlier
            # fit of the same rows is still releasing.
            futures = self.client.scatter(
                [c[start:stop] for c in columns], workers=[worker], hash=False
            )
            placed += futures
            partitions[worker] = int(stop - start)
            for out, future, column in zip(blocks, futures, columns, strict=True):
                shape = (int(stop - start), *column.shape[1:])
                out.append(da.from_delayed(delayed(future), shape=shape, dtype=column.dtype))
        data = [da.concatenate(parts) for parts in blocks]
        params = {k: v for k, v in estimator.get_params().items() if k != "n_jobs"}
        try:
            # lightgbm.dask waits on the current client (ours is not the default one), gives
            # each worker as many threads as it has cores and warns that the thread count it
            # is always passed is ignored.
            with self.client.as_current(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
                model = DaskLGBMRegressor(client=self.client, **params).fit(
                    data[0], data[1], sample_weight=data[2] if weight is not None else None
                )
        finally:
            self.client.cancel(placed)
        local = model.to_local()
        # It predicts with the threads the forecaster asked for, not a worker's core count.
        local.set_params(num_threads=estimator.get_params()["n_jobs"])
        self.fits.append(DistributedFit(len(x), partitions))
        return local
