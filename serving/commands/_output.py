"""Console output shared by the commands: summaries as tables, results as JSON files."""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crossplan.pipelines.errors import ConfigurationError

__all__ = [
    "at_least_one",
    "console",
    "output_path",
    "positive_int",
    "print_summary",
    "write_json",
    "write_text",
]

console = Console(highlight=False)
if not console.is_terminal:
    # Rich assumes 80 columns for a file or a pipe and would cut the tables' column names;
    # nobody reads those at a fixed width.
    console.width = max(console.width, 200)


def print_summary(title: str, summary: dict[str, Any]) -> None:
    """Print a two-column table of figures."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in summary.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        table.add_row(key.replace("_", " "), shown)
    console.print(table)


def output_path(text: str) -> Path:
    """An argparse type for files a command will write: refused before any work is done.

    A directory, or a place whose nearest existing folder is not writable, is a usage error.
    """
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {folder} is not a writable folder")
    return path


def positive_int(text: str) -> int:
    """An argparse type for counts and ids: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1, e.g. 20")
    return value


def at_least_one(args: argparse.Namespace, *options: str) -> None:
    """:class:`ConfigurationError` for the first of ``options`` (e.g. ``--horizon``) given
    below 1: a count of periods, origins or refits."""
    for option in options:
        value = getattr(args, option.lstrip("-").replace("-", "_"))
        if value is not None and value < 1:
            raise ConfigurationError(f"{option} must be at least 1, got {value}")


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically: readers see the old file or the new one, never half of one.

    Non-finite numbers (a metric with nothing to measure) become ``null``, so the file is
    valid JSON for any reader.
    """
    write_text(path, json.dumps(_finite(payload), indent=2, default=str, allow_nan=False))


def write_text(path: Path, text: str) -> None:
    """Write text (UTF-8) atomically: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
