"""A progress bar for long commands, silent with ``--quiet``.

At a terminal it is a live bar; when the output goes to a file or a pipe (CI, ``| tee``,
``nohup``), a bar cannot be drawn, so a plain line goes to stderr instead, at most every
:data:`LINE_EVERY_S` seconds and at the end: a long run never looks stuck.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crossplan.serving.commands._output import console

__all__ = ["LINE_EVERY_S", "progress_bar"]

LINE_EVERY_S = 10.0


@contextmanager
def progress_bar(title: str, *, quiet: bool = False) -> Iterator[Callable[[int, int, str], None]]:
    """Yield a ``report(done, total, label)`` callback that drives a progress bar."""
    if not quiet and not console.is_terminal:
        with _progress_lines(title) as report:
            yield report
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"),
    )
    with Progress(*columns, console=console, transient=True, disable=quiet) as progress:
        task = progress.add_task(title, total=None, label="")

        def report(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, label=label)

        yield report


@contextmanager
def _progress_lines(title: str) -> Iterator[Callable[[int, int, str], None]]:
    began = time.monotonic()
    last = -LINE_EVERY_S
    print(f"{title}: started", file=sys.stderr, flush=True)

    def report(done: int, total: int, label: str) -> None:
        nonlocal last
        now = time.monotonic() - began
        if now - last >= LINE_EVERY_S or done == total:
            last = now
            print(f"{title}: {done}/{total} {label} ({now:.0f} s)", file=sys.stderr, flush=True)

    yield report
    print(f"{title}: done in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
