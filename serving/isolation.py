"""Run one plan in a child process that can be killed and cannot take the server's memory.

A plan is built and solved in memory (PuLP and HiGHS run in the process; CBC is a process
of its own), and neither a time limit nor Python can stop a solver that is stuck in a build
or a long explanation. So each plan runs in a child process of its own, in a process group
of its own, with a limit on the memory it allocates (``RLIMIT_DATA``: heap and anonymous
mappings, not the shared libraries the forkserver mapped; inherited by CBC): at the deadline
the whole group — the child and its CBC — is killed with SIGKILL, and a plan that needs more
memory fails inside its child, leaving the server as it was.

Children are forked from a ``forkserver`` that has imported the planning code once, so a
child starts in milliseconds and never inherits the server's threads or locks. A child also
dies with its parent (``PR_SET_PDEATHSIG``), taking its CBC with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import psutil

__all__ = ["ChildDied", "ChildTimedOut", "await_group_end", "run_isolated", "start_forkserver"]

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(
    ["crossplan.serving.isolation", "crossplan.pipelines.plan_use_case"]
)
_PR_SET_PDEATHSIG = 1
log = logging.getLogger(__name__)


class ChildTimedOut(Exception):
    """The child had not answered by the deadline; its process group was killed."""


class ChildDied(Exception):
    """The child ended without an answer (out of memory, or killed)."""


def start_forkserver() -> None:
    """Start the forkserver now (it imports the planning code), not on the first plan."""
    from multiprocessing import forkserver

    forkserver.ensure_running()


def run_isolated(
    function: Callable[..., Any], args: tuple[Any, ...], *, timeout: float, memory_bytes: int
) -> Any:
    """``function(*args)`` in a child process; its result, or the exception it raised.

    Parameters
    ----------
    function
        A module-level function (it is pickled by name).
    timeout
        Seconds to wait for the answer; then the child and every process it started are
        killed.
    memory_bytes
        Address-space limit of the child and of what it starts.

    Raises
    ------
    ChildTimedOut, ChildDied
        No answer; nothing of the child is left running.
    Exception
        Whatever ``function`` raised.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(
        target=_child, args=(sender, function, args, memory_bytes), daemon=True
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(max(0.0, timeout)):
            raise ChildTimedOut(f"no answer within {timeout:.0f} s")
        try:
            kind, value = receiver.recv()
        except EOFError:
            raise ChildDied("the planning process ended without an answer") from None
    finally:
        receiver.close()
        _kill_group(child.pid)
        child.join()
        await_group_end(child.pid)
    if kind == "memory":
        raise ChildDied("the planning process ran out of memory")
    if kind == "error":
        raise value
    return value


def _kill_group(pid: int | None) -> None:
    """SIGKILL the child's process group (the child made it; its pid is not reused until it
    is joined), or the child alone if it had not made one yet."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def await_group_end(pgid: int | None, *, within: float = 2.0) -> None:
    """Return once no process of the group runs any more, or after ``within`` seconds.

    SIGKILL is delivered, not waited for: a process that was asleep must still be scheduled
    to die. Zombies count as ended (their reaper may be an init that never reaps).
    """
    if pgid is None:
        return
    deadline = time.monotonic() + within
    while True:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):  # gone (or the number is another's)
            return
        running = _running_in_group(pgid)
        if not running:
            return
        if time.monotonic() >= deadline:
            log.warning(
                "a killed plan's processes %s (group %d) still run %.0f s later: stuck in "
                "the kernel, where a kill waits until they leave it",
                running, pgid, within,
            )  # fmt: skip
            return
        time.sleep(0.01)


def _running_in_group(pgid: int) -> list[int]:
    """The pids of the group's processes that are not zombies."""
    running = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process.pid)
    return running


def _child(
    sender: Connection, function: Callable[..., Any], args: tuple[Any, ...], memory_bytes: int
) -> None:
    os.setpgid(0, 0)
    # When the parent dies, SIGTERM; the handler takes the whole group (CBC too) down.
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent is already gone
        os.killpg(0, signal.SIGKILL)
    # Not RLIMIT_AS: a child starts with 400 MB of address space, libraries mostly, and a
    # plan at the size limits passed 1.5 GB of address space with 0.8 GB resident.
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    try:
        answer: tuple[str, Any] = ("ok", function(*args))
    except MemoryError:
        answer = ("memory", None)
    except Exception as err:
        answer = ("error", err)
    try:
        sender.send(answer)
    except MemoryError:
        sender.send(("memory", None))
    except Exception as err:  # an exception that cannot be pickled
        sender.send(("error", RuntimeError(f"{type(err).__name__}: {err}")))
    sender.close()
