"""``crossplan keys``: manage API keys of the HTTP service."""

from __future__ import annotations

import argparse
import sys

from pipelines.errors import ConfigurationError
from serving.auth import KeysFile, Role, add_key, revoke_key
from serving.commands import COMMANDS
from serving.settings import Settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "keys",
        help=COMMANDS["keys"],
        description=(
            "Keys live hashed in $CROSSPLAN_HOME/api_keys.json (or CROSSPLAN_API_KEYS_FILE). "
            "`add` prints the new key on stdout once: it cannot be shown again."
        ),
    )
    p.add_argument("action", choices=["add", "list", "revoke"])
    p.add_argument("name", nargs="?", help="holder of the key (add, revoke)")
    p.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.PLANNER.value,
        help="analyst: read plans; planner: also forecast and plan; admin: also reload",
    )
    p.add_argument(
        "--replace", action="store_true", help="add: revoke the NAME's current key, if any"
    )
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    keys = KeysFile(Settings.from_env().keys_file)
    if args.action == "list":
        for key in keys.read().keys:
            print(f"{key.name}\t{key.role}\t{key.created_at}")
        return 0
    if not args.name:
        raise ConfigurationError(f"`crossplan keys {args.action}` needs a NAME")
    if args.action == "revoke":
        revoke_key(keys, args.name)
        print(f"revoked the key of '{args.name}'", file=sys.stderr)
        return 0
    token = add_key(keys, args.name, Role(args.role), replace=args.replace)
    print(token)
    print(
        f"key of '{args.name}' ({args.role}) added to {keys.path}; "
        "keep it now, it is not shown again",
        file=sys.stderr,
    )
    return 0
