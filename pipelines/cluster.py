"""Where a training's work runs: this process, or the workers of a Dask cluster.

A backtest is a list of independent tasks (one per candidate and refit block, see
:func:`pipelines.backtest.backtest`); a training adds the final fit. :class:`Local` runs them
one after the other here; :class:`DaskCluster` sends them to the workers of a running
``dask.distributed`` scheduler, the panel scattered to every worker once rather than with
each task. Both return the results in the order of the tasks, so a cluster's training gives
the same selection and the same numbers as a local one: every task is a pure function of its
arguments and seeds.

Start a cluster with ``dask scheduler`` on one machine and ``dask worker tcp://HOST:8786`` on
each of the others (crossplan installed in the same version everywhere); then
``crossplan train --cluster tcp://HOST:8786`` or ``CROSSPLAN_DASK_SCHEDULER``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from crossplan.pipelines.errors import ConfigurationError

__all__ = ["SCHEDULER_VARIABLE", "DaskCluster", "Local", "Runner", "connect"]

#: The variable that names a Dask scheduler when ``--cluster`` is not given.
SCHEDULER_VARIABLE = "CROSSPLAN_DASK_SCHEDULER"
#: Seconds to wait for the scheduler to answer before saying it cannot be reached.
CONNECT_TIMEOUT = 10

T = TypeVar("T")
Done = Callable[[int], None]


class Runner(Protocol):
    """Runs ``fn(**shared, **task)`` for each task; results in the tasks' order."""

    @property
    def where(self) -> str:
        """Where the work runs, as the training's MLflow run records it."""

    @property
    def workers(self) -> int:
        """How many workers take tasks."""

    def run(
        self,
        fn: Callable[..., T],
        tasks: Sequence[Mapping[str, Any]],
        shared: Mapping[str, Any],
        done: Done | None = None,
    ) -> list[T]: ...


@dataclass(frozen=True)
class Local:
    """Every task in this process, in order."""

    where: str = "local"
    workers: int = 1

    def run(
        self,
        fn: Callable[..., T],
        tasks: Sequence[Mapping[str, Any]],
        shared: Mapping[str, Any],
        done: Done | None = None,
    ) -> list[T]:
        out = []
        for i, task in enumerate(tasks):
            out.append(fn(**shared, **task))
            if done is not None:
                done(i)
        return out


@dataclass
class DaskCluster:
    """The tasks on the workers of a connected ``distributed.Client``."""

    client: Any = field(repr=False)
    where: str = ""

    def __post_init__(self) -> None:
        self.where = self.where or str(self.client.scheduler.address)

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def run(
        self,
        fn: Callable[..., T],
        tasks: Sequence[Mapping[str, Any]],
        shared: Mapping[str, Any],
        done: Done | None = None,
    ) -> list[T]:
        from distributed import as_completed

        # Large arguments travel to each worker once, not once per task.
        scattered = {k: self.client.scatter(v, broadcast=True) for k, v in shared.items()}
        futures = [self.client.submit(fn, **scattered, **task, pure=False) for task in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures, loop=self.client.loop):
            future.result()  # a task's error is raised here, with its own traceback
            if done is not None:
                done(index[future.key])
        return [f.result() for f in futures]


@contextmanager
def connect(address: str | None, *, timeout: float | None = None) -> Iterator[Runner]:
    """The runner for the Dask scheduler at ``address``, or for this process when it is
    ``None``; ``timeout`` is how long the scheduler has to answer, in seconds (default
    :data:`CONNECT_TIMEOUT`).

    Raises
    ------
    ConfigurationError
        Dask is not installed, or the scheduler does not answer.
    """
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
        yield DaskCluster(client, where=address)
    finally:
        client.close()
