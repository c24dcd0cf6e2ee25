"""``crossplan validate``: check input files against the data contract, or a submission
against the service's checks, storing nothing.

With ``--file``, the checks are the service's own (:func:`serving.upload_reader.check_upload`,
as ``POST /submissions`` makes them): against the local shared database with ``--database``,
or asked of a running service with ``--url`` (``POST /submissions/check``). Either way the
problems are the ones a submission of the file would be refused with, as the service words
and locates them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from crossplan.pipelines.contract import load_files, summarize
from crossplan.pipelines.errors import ConfigurationError, DataValidationError, Problem
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._http import ServiceRefusal, call_service, service_key
from crossplan.serving.commands._output import output_path, print_summary, write_json
from crossplan.serving.http_errors import problems_body, problems_from_validation
from crossplan.serving.settings import SERVICE_URL
from crossplan.serving.upload_types import read_upload

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help=COMMANDS["validate"],
        description=(
            "Validate a data directory's files (--regions, --incidents, --resources) against "
            "the data contract; or, with --file, a submission against every check the service "
            "makes of it (your country's regions, the panel's categories, columns and "
            "periods), storing nothing: --database checks it against the local shared "
            "database, --url asks a running service (POST /submissions/check). The key "
            "(--key or CROSSPLAN_API_KEY) says whose submission it would be. Prints a summary "
            "and exits 0, or lists every problem (file, row, column, fix) and exits 2."
        ),
    )
    p.add_argument("--regions", type=Path, help="regions GeoJSON")
    p.add_argument("--incidents", type=Path, help="incidents panel (.csv or .parquet)")
    p.add_argument("--resources", type=Path, help="resources JSON")
    p.add_argument("--file", type=Path, help='a submission: CSV, Parquet or JSON {"rows": [...]}')
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--database",
        action="store_true",
        help="--file: check against the local shared database ($CROSSPLAN_HOME/crossplan.db "
        "or CROSSPLAN_DATABASE_URL)",
    )
    where.add_argument("--url", help=f"--file: ask this service (e.g. {SERVICE_URL})")
    p.add_argument("--key", help="--file: the API key it would be sent with "
                   "(default: $CROSSPLAN_API_KEY)")  # fmt: skip
    p.add_argument(
        "--json", type=output_path, help="write the summary (or the problems) as JSON here"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.file is not None:
        return _check_submission(args)
    if args.database or args.url:
        raise ConfigurationError("--database and --url check a submission — fix: give --file")
    if args.regions is None or args.incidents is None:
        raise ConfigurationError(
            "give --regions and --incidents (a data directory's files), or --file with "
            "--database or --url (a submission) — fix: e.g. `crossplan validate --file "
            "week.csv --database`"
        )
    summary = summarize(load_files(args.regions, args.incidents, args.resources))
    if args.json:
        write_json(args.json, summary)
    if not args.quiet:
        print_summary("Valid input", summary)
    return 0


def _check_submission(args: argparse.Namespace) -> int:
    if not (args.database or args.url):
        raise ConfigurationError(
            "--file is checked against the shared database — fix: add --database (the local "
            "one) or --url URL (a running service's)"
        )
    body, content_type = read_upload(args.file)
    check = _local if args.database else _remote
    try:
        summary = check(args, body, content_type)
    except DataValidationError as err:
        if args.json:  # the body the service answers a submission of the file with
            write_json(args.json, problems_body(problems_from_validation(err)))
        raise
    if args.json:
        write_json(args.json, summary)
    if not args.quiet:
        print_summary(f"{args.file.name}: no problem, nothing stored", summary)
    return 0


def _local(args: argparse.Namespace, body: bytes, content_type: str) -> dict[str, Any]:
    """The service's checks, made here against the local shared database."""
    from crossplan.pipelines.database import Database, load_panel
    from crossplan.serving.auth import KeyStore, Permission
    from crossplan.serving.upload_reader import check_upload

    _, key = service_key(None, args.key)
    db = Database.connect()
    try:
        who = KeyStore(db).read().authenticate(key)
        if who is None:
            raise ConfigurationError(
                "the key is not one of this database's — fix: give the key the service gave "
                "you (--key or CROSSPLAN_API_KEY), or `crossplan keys list` its keys"
            )
        if not who.may(Permission.SUBMIT):
            raise ConfigurationError(
                f"the key of '{who.name}' ({who.role}) may not submit — fix: use a reporter's "
                "key, or an admin's"
            )
        seen = load_panel(db).dataset.incidents
        checked = check_upload(db, body, content_type, args.file.name, who.submitter, seen)
    finally:
        db.dispose()
    return checked.model_dump()


def _remote(args: argparse.Namespace, body: bytes, content_type: str) -> dict[str, Any]:
    """The service's checks, asked of the service: its problems, as it answered them."""
    url, key = service_key(args.url, args.key)
    try:
        return call_service(
            url, key, "/submissions/check", what="the check", body=body,
            content_type=content_type, query={"file": args.file.name},
        )  # fmt: skip
    except ServiceRefusal as err:
        if err.status != 400 or not err.answer.get("problems"):
            raise
        raise DataValidationError([_problem(p) for p in err.answer["problems"]]) from None


def _problem(answered: dict[str, Any]) -> Problem:
    """A problem as the service answered it, back as it was found: located again by
    :func:`~serving.http_errors.problems_from_validation`, it is the answer's own."""
    if "file" in answered:
        return Problem(
            answered["file"], answered["message"], answered["fix"], answered.get("row"),
            answered.get("column"),
        )  # fmt: skip
    return Problem("request", answered["message"], answered["fix"], answered.get("field"))
