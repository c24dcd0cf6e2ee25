"""``crossplan export``: the panel as of a time, out of the database as a data directory
(``crossplan import`` is :mod:`crossplan.serving.commands.import_`)."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path

from crossplan.pipelines.database import (
    Database,
    export_panel,
    iso,
    record_event,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS

__all__ = ["parse_time", "register_export"]


def register_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help=COMMANDS["export"],
        description=(
            "Write the panel as it was at --as-of (default: now) as a data directory of the "
            "data contract: regions.geojson, incidents.parquet, resources.json."
        ),
    )
    p.add_argument("--out", type=Path, required=True, help="directory to write")
    p.add_argument("--as-of", type=parse_time, help="ISO 8601 time, UTC unless it says otherwise")
    p.set_defaults(run=_export)


def parse_time(value: str) -> datetime:
    """An ISO 8601 time as the database stores it (naive UTC)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-03-02T10:00:00+00:00"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _export(args: argparse.Namespace) -> int:
    db = Database.connect()
    if args.out.exists() and any(args.out.iterdir()):
        raise ConfigurationError(f"{args.out} is not empty — fix: give a new or empty directory")
    panel = export_panel(db, args.out, args.as_of)
    record_event(
        db,
        f"cli:{getpass.getuser()}",
        "export",
        out=str(args.out.resolve()),
        asked_as_of=None if args.as_of is None else iso(args.as_of),
        as_of=panel.as_of_iso,
        fingerprint=panel.fingerprint,
        last_submission=panel.last_submission,
    )
    print(
        f"wrote the panel as of {panel.as_of_iso} (fingerprint {panel.fingerprint[:12]}) to "
        f"{args.out}",
        file=sys.stderr,
    )
    return 0
