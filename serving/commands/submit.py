"""``crossplan submit``: send incident rows to a running service (``POST /submissions``)."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import cell_counts, counted, output_path, write_json
from crossplan.serving.settings import SERVICE_URL, Settings

__all__ = ["register"]

_TYPES = {
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
}


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
    settings = Settings.from_env()
    key = args.key or settings.api_key
    url = args.url or settings.service_url
    if not key:
        raise ConfigurationError("no API key — fix: give --key or set CROSSPLAN_API_KEY")
    content_type = _TYPES.get(args.file.suffix.lower())
    if content_type is None:
        raise ConfigurationError(
            f"{args.file.name}: unsupported file type — fix: give a .csv, .parquet or .json file"
        )
    try:
        body = args.file.read_bytes()
    except OSError as err:
        raise ConfigurationError(f"cannot read {args.file} ({err.strerror})") from None
    query = urllib.parse.urlencode({"file": args.file.name})
    request = urllib.request.Request(
        f"{url.rstrip('/')}/submissions?{query}",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Authorization": f"Bearer {key}"},
    )
    answer = _send(request, url)
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


def _send(request: urllib.request.Request, url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as err:
        try:
            body = json.loads(err.read())
        except ValueError:
            body = {"error": err.reason}
        problems = [
            f"  - {p.get('field') or 'file'}: {p['message']}"
            + (f" — fix: {p['fix']}" if p.get("fix") else "")
            for p in body.get("problems", [])
        ]
        raise ConfigurationError("\n".join([f"the service refused the submission ({err.code}): "
                                            f"{body.get('error')}", *problems])) from None  # fmt: skip
    except urllib.error.URLError as err:
        raise ConfigurationError(
            f"cannot reach the service at {url} ({err.reason}) — fix: start it (crossplan serve) "
            "or give --url"
        ) from None
