"""``crossplan simulate``: write a synthetic cross-border world with known truth."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from rich.progress import Progress

from crossplan.pipelines.contract import load_dataset, summarize
from crossplan.pipelines.simulate import (
    DEFAULT_CATEGORIES,
    WorldConfig,
    last_full_week,
    simulate_world,
)
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import console, output_path, print_summary, write_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help=COMMANDS["simulate"],
        description=(
            "Simulate a synthetic world (regions, routes, shocks, displacement, reporting and "
            "patrol detection under today's patrol practice) and write regions.geojson, "
            "incidents.parquet, truth.parquet and resources.json into --out."
        ),
    )
    p.add_argument("--out", type=Path, required=True, help="output data directory")
    for option, what in (
        ("seed", "random seed"),
        ("countries", "number of countries"),
        ("regions", "approximate number of regions"),
        ("periods", "weeks of history"),
    ):
        p.add_argument(
            f"--{option}",
            type=int,
            default=getattr(WorldConfig, option),
            help=f"{what} (default %(default)s)",
        )
    p.add_argument(
        "--end", type=_end, metavar="YYYY-MM-DD|last-week",
        help="the history's last week is the one (Monday to Sunday) holding this date; "
        "last-week: the last full week before today (default: the history starts 2023-01-02)",
    )  # fmt: skip
    p.add_argument(
        "--categories", nargs="+", default=list(DEFAULT_CATEGORIES), metavar="NAME",
        help="activity categories (default: %(default)s)",
    )  # fmt: skip
    p.add_argument("--json", type=output_path, help="also write the summary as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="no progress or summary")
    p.set_defaults(run=run)


def _end(value: str) -> date:
    if value == "last-week":
        return last_full_week(date.today())
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a date (YYYY-MM-DD) nor last-week"
        ) from None


def run(args: argparse.Namespace) -> int:
    config = WorldConfig(
        args.seed, args.countries, args.regions, args.periods, tuple(args.categories),
        end=args.end,
    )  # fmt: skip
    config.check()  # before anything is written
    with Progress(console=console, transient=True, disable=args.quiet) as progress:
        task = progress.add_task("simulating periods", total=args.periods)
        world = simulate_world(
            config.seed, config.countries, config.regions, config.periods, config.categories,
            on_period=lambda done: progress.update(task, completed=done), end=config.end,
        )  # fmt: skip
    paths = world.write(args.out)
    summary = {
        **summarize(load_dataset(args.out)),
        **{f"wrote_{k}": str(v) for k, v in paths.items()},
    }
    if args.json:
        write_json(args.json, summary)
    if not args.quiet:
        print_summary(f"Simulated world (seed {args.seed}) in {args.out}", summary)
    return 0
