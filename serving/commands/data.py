"""``crossplan import`` and ``crossplan export``: data directories in and out of the database."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path

from crossplan.pipelines.database import (
    Database,
    Submitter,
    export_panel,
    import_directory,
    iso,
    record_event,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import output_path, write_json

__all__ = ["parse_time", "register_export", "register_import"]


def register_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help=COMMANDS["import"],
        description=(
            "Validate a data directory (regions.geojson, incidents, resources.json) and load it "
            "into the shared database ($CROSSPLAN_HOME/crossplan.db or CROSSPLAN_DATABASE_URL) "
            "as the operator's submissions. Files already stored are recognised, not stored "
            "twice; changed cells become new versions."
        ),
    )
    p.add_argument("--data", type=Path, required=True, help="data directory")
    p.add_argument("--agency", help="agency the data come from (default: none, the operator)")
    p.add_argument("--json", type=output_path, help="write what was stored as JSON")
    p.set_defaults(run=_import)


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


def _import(args: argparse.Namespace) -> int:
    db = Database.connect()
    who = Submitter(f"cli:{getpass.getuser()}", args.agency or None)
    results = import_directory(db, args.data, who)  # in the audit trail with what it stored
    for r in results:
        state = "already stored" if r.duplicate else "stored"
        print(
            f"{r.file}: {state} (submission {r.submission_id}; {r.new} new, {r.corrected} "
            f"corrected, {r.unchanged} unchanged cells)",
            file=sys.stderr,
        )
    if args.json:
        write_json(
            args.json, {"database": db.describe(), "submissions": [r.to_dict() for r in results]}
        )
    return 0


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
