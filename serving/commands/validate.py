"""``crossplan validate``: check input files against the data contract."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossplan.pipelines.contract import load_files, summarize
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import output_path, print_summary, write_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help=COMMANDS["validate"],
        description=(
            "Validate the input files. Prints a summary and exits 0, or lists every problem "
            "(file, row, column, fix) and exits 2."
        ),
    )
    p.add_argument("--regions", type=Path, required=True, help="regions GeoJSON")
    p.add_argument(
        "--incidents", type=Path, required=True, help="incidents panel (.csv or .parquet)"
    )
    p.add_argument("--resources", type=Path, help="resources JSON")
    p.add_argument("--json", type=output_path, help="write the summary as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    summary = summarize(load_files(args.regions, args.incidents, args.resources))
    if args.json:
        write_json(args.json, summary)
    if not args.quiet:
        print_summary("Valid input", summary)
    return 0
