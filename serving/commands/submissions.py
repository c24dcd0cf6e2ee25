"""``crossplan submissions``: list what was submitted to the shared database, revert one."""

from __future__ import annotations

import argparse
import getpass
import sys

from rich.table import Table

from crossplan.pipelines.database import (
    Database,
    SubmissionRecord,
    Submitter,
    list_submissions,
    revert_submission,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import (
    console,
    counted,
    output_path,
    positive_int,
    write_json,
)

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "submissions",
        help=COMMANDS["submissions"],
        description=(
            "`list` shows the latest submissions of the shared database ($CROSSPLAN_HOME/"
            "crossplan.db or CROSSPLAN_DATABASE_URL), newest first. `revert ID --reason TEXT` "
            "adds a submission that puts every cell submission ID wrote back as it was before "
            "it (cells it created are withdrawn); it is refused when some of those cells hold "
            "other values since, naming the submissions to revert first. Nothing is erased, "
            "and the revert is in the audit trail. A running service serves the new panel on "
            "its next request."
        ),
    )
    p.add_argument("action", choices=["list", "revert"])
    p.add_argument("id", nargs="?", type=positive_int, help="revert: the submission to revert")
    p.add_argument("--reason", help="revert: why (kept in the audit trail)")
    p.add_argument("--limit", type=positive_int, default=20, help="list: how many (default: 20)")
    p.add_argument("--json", type=output_path, help="write the list, or the revert, as JSON")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if args.action == "revert" and (args.id is None or args.reason is None):
        raise ConfigurationError(
            "revert needs the submission's ID and --reason TEXT — fix: e.g. `crossplan "
            "submissions revert 42 --reason 'wrong week'` (`crossplan submissions list` shows "
            "the ids)"
        )
    db = Database.connect()
    if args.action == "list":
        records = list_submissions(db, args.limit)
        if args.json:
            write_json(args.json, {"submissions": [r.to_dict() for r in records]})
        _print(records)
        return 0
    done = revert_submission(
        db, args.id, reason=args.reason, by=Submitter(f"cli:{getpass.getuser()}")
    )
    if args.json:
        write_json(args.json, done.to_dict())
    print(
        f"reverted submission {done.reverted} with submission {done.submission_id}: "
        f"{counted(done.restored, 'cell')} restored, {done.withdrawn:,} withdrawn",
        file=sys.stderr,
    )
    return 0


def _print(records: list[SubmissionRecord]) -> None:
    if not records:
        console.print("no submissions yet")
        return
    table = Table(title="Submissions, newest first", title_justify="left")
    for name in ("id", "kind", "received", "key", "agency", "country", "file", "rows", "new",
                 "corrected", "unchanged"):  # fmt: skip
        table.add_column(name, justify="right" if name in ("id", "rows", "new") else "left")
    for r in records:
        table.add_row(
            str(r.id), r.kind, r.received_at, r.key_name, r.agency or "-", r.country or "-",
            r.file, str(r.rows), str(r.new), str(r.corrected), str(r.unchanged),
        )  # fmt: skip
    console.print(table)
