"""Where a training's work runs: this process, or the workers of a Dask cluster.

A backtest is a list of independent tasks (one per candidate and refit block, see
:func:`pipelines.backtest.backtest`); a training adds the final fit. :class:`Local` runs them
one after the other here; :class:`DaskCluster` sends them to the workers of a running
``dask.distributed`` scheduler, the panel scattered to every worker once rather than with
each task. Both return the results in the order of the tasks, so a cluster's training gives
the same selection and the same numbers as a local one: every task is a pure function of its
arguments and seeds.

One fit is one task, but a LightGBM fit too large for one worker can be spread over all of
them: tasks whose LightGBM training matrix may reach ``distributed_rows`` rows (the caller
says how many rows each task's largest one may have) run here instead, one at a time, with
a :class:`~pipelines.dask_fit.DaskFit` that trains each such fit with ``lightgbm.dask`` across
the workers. Its fits are recorded in :attr:`DaskCluster.distributed_fits`.

Start a cluster with ``dask scheduler`` on one machine and ``dask worker tcp://HOST:8786`` on
each of the others (crossplan installed in the same version everywhere); then
``crossplan train --cluster tcp://HOST:8786`` or ``CROSSPLAN_DASK_SCHEDULER``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from crossplan.pipelines.dask_fit import DaskFit, DistributedFit
from crossplan.pipelines.errors import ConfigurationError

__all__ = ["DISTRIBUTED_ROWS", "SCHEDULER_VARIABLE", "DaskCluster", "Local", "Runner", "connect"]

#: The variable that names a Dask scheduler when ``--cluster`` is not given.
SCHEDULER_VARIABLE = "CROSSPLAN_DASK_SCHEDULER"
#: Seconds to wait for the scheduler to answer before saying it cannot be reached.
CONNECT_TIMEOUT = 10
#: Rows of a LightGBM training matrix from which a cluster's fit is spread over its workers
#: (``lightgbm.dask``): the rows one process fits on at most
#: (:data:`models.forecaster.LGBM_TRAIN_ROWS`, the same number: a test holds them equal; not
#: imported, so that the settings and light commands never load LightGBM). On a cluster
#: that spreads fits, a LightGBM candidate fits on every row rather than a subset.
DISTRIBUTED_ROWS = 1_000_000

T = TypeVar("T")
Done = Callable[[int], None]
Keep = Callable[[int, T], T]


class Runner(Protocol):
    """Runs ``fn(**shared, **task)`` for each task; results in the tasks' order."""

    @property
    def where(self) -> str:
        """Where the work runs, as the training's MLflow run records it."""

    @property
    def workers(self) -> int:
        """How many workers take tasks."""

    @property
    def distributed_rows(self) -> int | None:
        """Rows from which a LightGBM fit is spread over the workers (``None``: never)."""

    @property
    def distributed_fits(self) -> Sequence[DistributedFit]:
        """The fits spread over the workers so far, in order."""

    def run(
        self,
        fn: Callable[..., T],
        tasks: Sequence[Mapping[str, Any]],
        shared: Mapping[str, Any],
        done: Done | None = None,
        rows: Sequence[int] | None = None,
        keep: Keep[T] | None = None,
    ) -> list[T]:
        """``rows``: per task, the most rows its largest LightGBM fit may have (0: none);
        a task from :attr:`distributed_rows` rows is called with ``fitter=`` the fit that
        spreads it over the workers. ``keep(i, result)``, called as each task ends (before
        ``done``), gives what is kept of its result (default: all of it), so a caller can
        store large results elsewhere as they come."""
        ...


@dataclass(frozen=True)
class Local:
    """Every task in this process, in order."""

    where: str = "local"
    workers: int = 1
    distributed_rows: int | None = None
    distributed_fits: tuple[DistributedFit, ...] = ()

    def run(
        self,
        fn: Callable[..., T],
        tasks: Sequence[Mapping[str, Any]],
        shared: Mapping[str, Any],
        done: Done | None = None,
        rows: Sequence[int] | None = None,
        keep: Keep[T] | None = None,
    ) -> list[T]:
        out = []
        for i, task in enumerate(tasks):
            result = fn(**shared, **task)
            out.append(result if keep is None else keep(i, result))
            if done is not None:
                done(i)
        return out


@dataclass
class DaskCluster:
    """The tasks on the workers of a connected ``distributed.Client``; LightGBM fits from
    ``distributed_rows`` rows across all of them (``None``: never)."""

    client: Any = field(repr=False)
    where: str = ""
    distributed_rows: int | None = None
    #: The fit given to the tasks run here (:attr:`distributed_rows` and up), which records
    #: each fit it spreads.
    distributed_fitter: DaskFit = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.where = self.where or str(self.client.scheduler.address)
        self.distributed_fitter = DaskFit(self.client, self.distributed_rows or 0)

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    @property
    def distributed_fits(self) -> Sequence[DistributedFit]:
        return tuple(self.distributed_fitter.fits)

    def run(
        self,
        fn: Callable[..., T],
        tasks: Sequence[Mapping[str, Any]],
        shared: Mapping[str, Any],
        done: Done | None = None,
        rows: Sequence[int] | None = None,
        keep: Keep[T] | None = None,
    ) -> list[T]:
        from distributed import as_completed

        limit = self.distributed_rows
        here = [limit is not None and r >= limit for r in (rows or [0] * len(tasks))]
        # Large arguments travel to each worker once, not once per task.
        scattered = {k: self.client.scatter(v, broadcast=True) for k, v in shared.items()}
        # Below the default priority: a spread fit's part on a worker (lightgbm.dask's
        # training task) runs as soon as the worker's current task ends, not after the queue.
        futures = {
            i: self.client.submit(fn, **scattered, **task, pure=False, priority=-1)
            for i, task in enumerate(tasks)
            if not here[i]
        }
        out: dict[int, Any] = {}
        # The large fits one after the other from here, each over every worker (two at once
        # would each wait for workers the other holds), while the others run beside them.
        for i, task in enumerate(tasks):
            if here[i]:
                result = fn(**shared, **task, fitter=self.distributed_fitter)
                out[i] = result if keep is None else keep(i, result)
                if done is not None:
                    done(i)
        index = {f.key: i for i, f in futures.items()}
        for future in as_completed(list(futures.values()), loop=self.client.loop):
            i = index[future.key]
            result = future.result()  # a task's error is raised here, with its own traceback
            out[i] = result if keep is None else keep(i, result)
            futures.pop(i).release()  # the workers may let go of what was kept here
            if done is not None:
                done(i)
        return [out[i] for i in range(len(tasks))]


@contextmanager
def connect(
    address: str | None,
    *,
    timeout: float | None = None,
    distributed_rows: int | None = DISTRIBUTED_ROWS,
) -> Iterator[Runner]:
    """The runner for the Dask scheduler at ``address``, or for this process when it is
    ``None``; ``timeout`` is how long the scheduler has to answer, in seconds (default
    :data:`CONNECT_TIMEOUT`); LightGBM fits from ``distributed_rows`` rows are spread over
    the workers (``None``: never).

    Raises
    ------
    ConfigurationError
        Dask is not installed, or the scheduler does not answer.
    """
    if distributed_rows is not None and distributed_rows < 1:
        raise ConfigurationError(
            f"a LightGBM fit is spread over a cluster from {distributed_rows} rows — fix: "
            "give a whole number of rows of at least 1"
        )
    if address is None:
        yield Local()
        return
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ConfigurationError(
            "training on a cluster needs dask.distributed — fix: pip install 'dask[distributed]'"
        ) from exc
    try:
        client = Client(address, timeout=timeout or CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigurationError(
            f"the Dask scheduler at {address} did not answer ({exc}) — fix: start it with "
            f"`dask scheduler` and workers with `dask worker {address}`, or leave out "
            f"--cluster and {SCHEDULER_VARIABLE} to train here"
        ) from exc
    try:
        yield DaskCluster(client, where=address, distributed_rows=distributed_rows)
    finally:
        client.close()
