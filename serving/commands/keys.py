"""``crossplan keys``: manage API keys of the HTTP service, in the shared database."""

from __future__ import annotations

import argparse
import getpass
import sys

from crossplan.pipelines.database import Database
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.auth import KeyStore, Role, Scope, add_key, revoke_key
from crossplan.serving.commands import COMMANDS

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "keys",
        help=COMMANDS["keys"],
        description=(
            "Keys live hashed in the shared database ($CROSSPLAN_HOME/crossplan.db, or "
            "CROSSPLAN_DATABASE_URL). A key belongs to an agency of a country; `add` prints the "
            "new key on stdout once: it cannot be shown again. Every change is in the audit trail."
        ),
    )
    p.add_argument("action", choices=["add", "list", "revoke"])
    p.add_argument("name", nargs="?", help="holder of the key (add, revoke)")
    p.add_argument(
        "--role",
        choices=[r.value for r in Role],
        help="add (required): reporter: submit its country's rows; analyst: read plans and shared data; "
        "planner: also forecast and plan; admin: also reload, submit for any country, audit",
    )
    p.add_argument("--country", help="ISO 3166-1 alpha-3 code of the key's country, e.g. GRC")
    p.add_argument("--agency", help='the agency holding the key, e.g. "Border Police"')
    p.add_argument(
        "--scope",
        choices=[s.value for s in Scope],
        default=Scope.AGENCY.value,
        help="which units its plans command: agency (default): the agency's own; national: "
        "every unit of its country (a national coordination centre's key; needs --country)",
    )
    p.add_argument(
        "--replace", action="store_true", help="add: revoke the NAME's current key, if any"
    )
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    keys = KeyStore(Database.connect())
    actor = f"cli:{getpass.getuser()}"
    if args.action == "list":
        if not keys.read().keys:
            print(
                f"no keys in {keys.db.describe()} yet — add one: crossplan keys add NAME --role "
                "ROLE",
                file=sys.stderr,
            )
        for key in keys.read().keys:
            print(
                f"{key.name}\t{key.role}\t{key.country or '-'}\t{key.agency or '-'}\t"
                f"{key.scope if key.country else '-'}\t{key.created_at}"
            )
        return 0
    if not args.name:
        raise ConfigurationError(f"`crossplan keys {args.action}` needs a NAME")
    if args.action == "revoke":
        revoke_key(keys, args.name, actor=actor)
        print(f"revoked the key of '{args.name}'", file=sys.stderr)
        return 0
    if args.role is None:
        roles = ", ".join(r.value for r in Role)
        raise ConfigurationError(
            f"`crossplan keys add {args.name}` needs --role, what the key may do: {roles} — "
            f"fix: e.g. `crossplan keys add {args.name} --role planner --country GRC "
            '--agency "Border Police"`'
        )
    token = add_key(
        keys,
        args.name,
        Role(args.role),
        country=args.country,
        agency=args.agency,
        scope=Scope(args.scope),
        replace=args.replace,
        actor=actor,
    )
    print(token)
    print(
        f"key of '{args.name}' ({args.role}) added to {keys.db.describe()}; "
        "keep it now, it is not shown again",
        file=sys.stderr,
    )
    return 0
