"""The ``crossplan`` console script: one sub-command per module of :mod:`serving.commands`.

Exit status: 0 on success, 2 on a problem the user can fix (bad input, bad options),
1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crossplan.pipelines.errors import CrossplanError
from crossplan.pipelines.home import database_in_home, describe_home, init_home
from crossplan.serving.commands import COMMANDS, HOME_COMMANDS, registrar

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_USER_ERROR = 2


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser of the command line ``argv``.

    Only the command that ``argv`` names gets its full parser (and its module imported);
    the others are listed with their one-line help.
    """
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = argparse.ArgumentParser(
        prog="crossplan",
        description=(
            "Forecast cross-border trafficking and smuggling activity per region and period, "
            "plan patrols and joint operations, and serve both over HTTP."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        if name == chosen:
            registrar(name)(sub)
            if name in HOME_COMMANDS:
                _take_init(sub.choices[name])
        else:
            sub.add_parser(name, help=summary)
    return parser


def _take_init(parser: argparse.ArgumentParser) -> None:
    """``--init`` on ``parser``, or on each of its sub-commands' parsers."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in subs:
        for child in {id(p): p for p in action.choices.values()}.values():
            _take_init(child)
    if not subs:
        parser.add_argument(
            "--init",
            action="store_true",
            help="start a new, empty home at $CROSSPLAN_HOME (default ./.crossplan) if there is "
            "none; without it, a command refuses to create one",
        )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        if args.command in HOME_COMMANDS:
            # Which home, before anything is read from it: a command run from the wrong
            # folder says so at once. A new home only when asked (import starts one for the
            # database it fills, when that is the home's).
            if args.init or (args.command == "import" and database_in_home()):
                init_home()
            if not getattr(args, "quiet", False):
                print(f"crossplan {args.command}: home {describe_home()}", file=sys.stderr)
        status: int = args.run(args)
    except CrossplanError as err:
        print(f"crossplan {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
