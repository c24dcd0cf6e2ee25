"""Console output shared by the commands: summaries as tables, results as JSON files."""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from crossplan.pipelines.errors import ConfigurationError

__all__ = [
    "at_least_one",
    "cell_counts",
    "console",
    "counted",
    "not_eligible_lines",
    "output_path",
    "positive_int",
    "print_summary",
    "print_table",
    "write_json",
    "write_text",
]

console = Console(highlight=False)
if not console.is_terminal:
    # Rich assumes 80 columns for a file or a pipe and would cut the tables' column names;
    # nobody reads those at a fixed width.
    console.width = max(console.width, 200)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` in words that agree: "no alerts", "1 alert", "3 alerts"."""
    many = plural or f"{noun}s"
    if n == 0:
        return f"no {many}"
    return f"1 {noun}" if n == 1 else f"{n:,} {many}"


def cell_counts(new: int, corrected: int, unchanged: int) -> str:
    """What a submission did to the panel's cells: "3 cells: 2 new, 1 unchanged"."""
    parts = [f"{n:,} {what}" for n, what in
             ((new, "new"), (corrected, "corrected"), (unchanged, "unchanged")) if n]  # fmt: skip
    total = counted(new + corrected + unchanged, "cell")
    return f"{total}: {', '.join(parts)}" if parts else total


def print_table(table: Table, out: Console | None = None) -> None:
    """Print ``table`` whole: wider than the console, it keeps its natural width (the
    terminal wraps its lines) rather than cut its figures to fit."""
    out = out or console
    natural = Measurement.get(out, out.options.update_width(10_000), table).maximum
    width = out.width  # (print's own width= may only narrow the console)
    out.width = max(width, natural)
    try:
        out.print(table, crop=False)
    finally:
        out.width = width


def not_eligible_lines(scores: dict[str, dict[str, Any]]) -> list[str]:
    """One line per candidate that may not be chosen, saying why (the measure, its value,
    the window); a run recorded before the reasons were says so."""
    return [
        f"{name} is not eligible: {s.get('not_eligible') or 'reason not recorded'}"
        for name, s in scores.items()
        if not s.get("eligible", True)
    ]


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
