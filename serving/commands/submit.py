"""``crossplan submit``: send incident rows to a running service (``POST /submissions``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._http import call_service, service_key
from crossplan.serving.commands._output import cell_counts, counted, output_path, write_json
from crossplan.serving.settings import SERVICE_URL
from crossplan.serving.upload_types import read_upload

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "submit",
        help=COMMANDS["submit"],
        description=(
            'Send an incidents file (CSV, Parquet, or JSON {"rows": [...]}) of your country\'s '
            "regions to a running crossplan service. It is validated by the data contract and "
            "stored all or nothing; sending the same file again changes nothing. The key comes "
            "from --key or CROSSPLAN_API_KEY (a reporter's, or an admin's)."
        ),
    )
    p.add_argument("--file", type=Path, required=True, help="the rows to submit")
    p.add_argument("--url", help=f"the service (default: $CROSSPLAN_URL or {SERVICE_URL})")
    p.add_argument("--key", help="API key (default: $CROSSPLAN_API_KEY)")
    p.add_argument("--json", type=output_path, help="write the service's answer as JSON")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    url, key = service_key(args.url, args.key)
    body, content_type = read_upload(args.file)
    answer = call_service(
        url, key, "/submissions", what="the submission", body=body,
        content_type=content_type, query={"file": args.file.name},
    )  # fmt: skip
    if args.json:
        write_json(args.json, answer)
    state = "already stored: nothing changed" if answer["duplicate"] else "stored"
    print(
        f"{args.file.name}: {state} (submission {answer['submission_id']}; "
        f"{cell_counts(answer['new'], answer['corrected'], answer['unchanged'])}; "
        f"{counted(answer['alerts'], 'alert')})",
        file=sys.stderr,
    )
    return 0
