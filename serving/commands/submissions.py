"""``crossplan submissions``: what was submitted (the list, a receipt, the rows stored), from
the shared database or, with ``--url``, as a running service gives a key its agency's own;
revert one."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from rich.table import Table

from crossplan.pipelines.database import (
    Database,
    Submitter,
    get_receipt,
    list_submissions,
    revert_submission,
    submission_rows,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._http import call_service, service_key
from crossplan.serving.commands._output import (
    console,
    counted,
    output_path,
    positive_int,
    print_summary,
    write_json,
)

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "submissions",
        help=COMMANDS["submissions"],
        description=(
            "`list` shows the latest submissions of the shared database ($CROSSPLAN_HOME/"
            "crossplan.db or CROSSPLAN_DATABASE_URL), newest first; `show ID` one's receipt "
            "(and the submissions that reverted it); `rows ID` the rows it stored, each marked "
            "current or replaced since. With --url and a reporter's key, the same three ask a "
            "running service for your agency's own submissions. `revert ID --reason TEXT` "
            "adds a submission that puts every cell submission ID wrote back as it was before "
            "it (cells it created are withdrawn); it is refused when some of those cells hold "
            "other values since, naming the submissions to revert first. Nothing is erased, "
            "and the revert is in the audit trail. A running service serves the new panel on "
            "its next request."
        ),
    )
    p.add_argument("action", choices=["list", "show", "rows", "revert"])
    p.add_argument("id", nargs="?", type=positive_int, help="show, rows, revert: the submission")
    p.add_argument("--reason", help="revert: why (kept in the audit trail)")
    p.add_argument("--limit", type=positive_int, default=20, help="list: how many (default: 20)")
    p.add_argument(
        "--url",
        help="list, show, rows: ask this service for your agency's own (GET /submissions), "
        "with --key or $CROSSPLAN_API_KEY",
    )
    p.add_argument("--key", help="with --url: API key (default: $CROSSPLAN_API_KEY)")
    p.add_argument("--json", type=output_path, help="write the answer as JSON")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if args.action == "revert" and (args.id is None or args.reason is None):
        raise ConfigurationError(
            "revert needs the submission's ID and --reason TEXT — fix: e.g. `crossplan "
            "submissions revert 42 --reason 'wrong week'` (`crossplan submissions list` shows "
            "the ids)"
        )
    if args.action in ("show", "rows") and args.id is None:
        raise ConfigurationError(
            f"{args.action} needs the submission's ID — fix: e.g. `crossplan submissions "
            f"{args.action} 42` (`crossplan submissions list` shows the ids)"
        )
    if args.action == "revert" and args.url:
        raise ConfigurationError(
            "a revert is the operator's, on the shared database — fix: leave out --url, or "
            "ask an administrator to revert it"
        )
    answer = _remote(args) if args.url else _local(args)
    if args.json:
        write_json(args.json, answer)
    if args.action == "list":
        _print(answer["submissions"])
    elif args.action == "show":
        print_summary(f"Submission {args.id}", answer)
    elif args.action == "rows":
        _print_rows(args.id, answer["rows"])
    else:
        print(
            f"reverted submission {answer['reverted']} with submission "
            f"{answer['submission_id']}: {counted(answer['restored'], 'cell')} restored, "
            f"{answer['withdrawn']:,} withdrawn",
            file=sys.stderr,
        )
    return 0


def _remote(args: argparse.Namespace) -> dict[str, Any]:
    """The key's agency's own, as the service gives them."""
    url, key = service_key(args.url, args.key)
    what = "the request"
    if args.action == "list":
        return call_service(url, key, "/submissions", what=what, query={"limit": args.limit})
    path = f"/submissions/{args.id}" + ("/rows" if args.action == "rows" else "")
    return call_service(url, key, path, what=what)


def _local(args: argparse.Namespace) -> dict[str, Any]:
    """Every submission of the shared database (the operator's view)."""
    db = Database.connect()
    if args.action == "list":
        return {"submissions": [r.to_dict() for r in list_submissions(db, args.limit)]}
    if args.action == "show":
        found = get_receipt(db, args.id)
        if found is None:
            raise ConfigurationError(
                f"no submission {args.id} — fix: `crossplan submissions list` shows their ids"
            )
        return found.to_dict()
    if args.action == "rows":
        return {"submission_id": args.id, "rows": submission_rows(db, args.id)}
    done = revert_submission(
        db, args.id, reason=args.reason, by=Submitter(f"cli:{getpass.getuser()}")
    )
    return done.to_dict()


def _print(records: list[dict[str, Any]]) -> None:
    if not records:
        console.print("no submissions yet")
        return
    table = Table(title="Submissions, newest first", title_justify="left")
    for name in ("id", "kind", "received", "key", "agency", "country", "file", "rows", "new",
                 "corrected", "unchanged"):  # fmt: skip
        table.add_column(name, justify="right" if name in ("id", "rows", "new") else "left")
    for r in records:
        table.add_row(
            str(r["id"]), r["kind"], r["received_at"], r["key_name"], r["agency"] or "-",
            r["country"] or "-", r["file"], str(r["rows"]), str(r["new"]), str(r["corrected"]),
            str(r["unchanged"]),
        )  # fmt: skip
    console.print(table)


def _print_rows(submission_id: int, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"submission {submission_id} stored no rows (every cell was unchanged)")
        return
    table = Table(title=f"Rows stored by submission {submission_id}", title_justify="left")
    columns = [c for c in rows[0] if any(r.get(c) is not None for r in rows)]
    for name in columns:
        table.add_column(name)
    for r in rows:
        table.add_row(*("-" if r.get(c) is None else str(r[c]) for c in columns))
    console.print(table)
