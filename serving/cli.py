"""The ``crossplan`` console script: one sub-command per module of :mod:`serving.commands`.

Exit status: 0 on success, 2 on a problem the user can fix (bad input, bad options),
1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crossplan.pipelines.errors import CrossplanError
from crossplan.serving.commands import COMMANDS, registrar

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
        else:
            sub.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
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
