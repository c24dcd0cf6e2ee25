"""``crossplan audit``: the audit trail of the shared database, newest first."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from rich.table import Table

from crossplan.pipelines.database import AuditRecord, Database, audit_actions, audit_trail
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import console, output_path, positive_int, write_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help=COMMANDS["audit"],
        description=(
            "Print the audit trail of the shared database ($CROSSPLAN_HOME/crossplan.db or "
            "CROSSPLAN_DATABASE_URL): submissions, reverts, imports, exports, reloads, "
            "promotions, key changes and refused requests, with who did them (key, agency, "
            "country). --country gives one country's events, as that country's admins read "
            "them at GET /audit: those of its keys, and those that name it."
        ),
    )
    p.add_argument("--limit", type=positive_int, default=50, help="how many events (default: 50)")
    p.add_argument("--action", help="only this action, e.g. submission, revert, import")
    p.add_argument(
        "--country",
        type=_country,
        help="only the events of this country (ISO 3166-1 alpha-3): of its keys, or naming it",
    )
    p.add_argument("--json", type=output_path, help="write the events as JSON")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    db = Database.connect()
    if args.action is not None:
        known = audit_actions(db)
        if args.action not in known:
            raise ConfigurationError(
                f"--action {args.action!r} is no action of the audit trail — fix: use one of "
                + ", ".join(known)
            )
    events = audit_trail(db, args.limit, args.action, country=args.country)
    if args.json:
        write_json(args.json, {"events": [_as_dict(e) for e in events]})
    _print(events)
    return 0


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 3166-1 alpha-3 code, e.g. GRC (three capital letters)"
        )
    return value


def _as_dict(event: AuditRecord) -> dict[str, Any]:
    return dict(vars(event))


def _print(events: list[AuditRecord]) -> None:
    if not events:
        console.print("no events")
        return
    table = Table(title="Audit trail, newest first", title_justify="left")
    for name in ("id", "at", "actor", "agency", "country", "action", "detail"):
        table.add_column(name, justify="right" if name == "id" else "left", overflow="fold")
    for e in events:
        table.add_row(
            str(e.id), e.at, e.actor, e.agency or "-", e.country or "-", e.action, _detail(e)
        )
    console.print(table)


def _detail(event: AuditRecord) -> str:
    return " ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v, default=str)}"
        for k, v in event.detail.items()
    )
