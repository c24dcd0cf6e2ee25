"""``crossplan import``: validate a data directory and load it into the shared database.

Rows carry their owner: ``--agency NAME`` stores every row as that agency's, and
``--agency ISO3=NAME`` (repeated) the rows of each country's regions as its agency's (one
submission per country). An agency's own keys read its rows as sent; rows of no agency are
the operator's, and small counts of them are suppressed to every agency's key. (The resources
contract names the agency of each unit, several per country, not the agency that reports a
country's counts: it is given here.)
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from pathlib import Path

from crossplan.pipelines.database import Database, Submitter, import_directory
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import cell_counts, output_path, write_json

__all__ = ["register"]

_PER_COUNTRY = re.compile(r"^([A-Z]{3})=(.*)$")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help=COMMANDS["import"],
        description=(
            "Validate a data directory (regions.geojson, incidents, resources.json) and load it "
            "into the shared database ($CROSSPLAN_HOME/crossplan.db or CROSSPLAN_DATABASE_URL) "
            "as the operator's submissions. Files already stored are recognised, not stored "
            "twice; changed cells become new versions. --agency says whose rows they are, so "
            "that each agency's keys read its own rows as sent."
        ),
    )
    p.add_argument("--data", type=Path, required=True, help="data directory")
    p.add_argument(
        "--agency",
        action="append",
        default=[],
        metavar="[ISO3=]NAME",
        help="the agency the rows come from: NAME for every row, or ISO3=NAME (repeated) for "
        "the rows of one country's regions; rows of no agency are the operator's "
        "(default: none)",
    )
    p.add_argument("--json", type=output_path, help="write what was stored as JSON")
    p.set_defaults(run=_run)


def agencies_of(values: list[str]) -> tuple[str | None, dict[str, str]]:
    """The agency of every row (or ``None``) and the agency of each country, from the
    ``--agency`` values.

    Raises
    ------
    ConfigurationError
        An empty or overlong name, two agencies for every row, or two for one country.
    """
    default: str | None = None
    per_country: dict[str, str] = {}
    for value in values:
        found = _PER_COUNTRY.match(value)
        country, name = (found.group(1), found.group(2)) if found else (None, value)
        name = name.strip()
        if not 0 < len(name) <= 200:
            raise ConfigurationError(
                f"--agency {value!r}: an agency's name is 1-200 characters — fix: "
                "--agency NAME, or --agency ISO3=NAME, e.g. --agency 'GRC=Hellenic Police'"
            )
        if country is None:
            if default is not None and default != name:
                raise ConfigurationError(
                    f"--agency is given twice for every row ({default!r}, {name!r}) — fix: "
                    "give one NAME, and ISO3=NAME for the countries whose rows are another's"
                )
            default = name
        else:
            if per_country.get(country, name) != name:
                raise ConfigurationError(
                    f"--agency gives {country} two agencies ({per_country[country]!r}, "
                    f"{name!r}) — fix: give one per country"
                )
            per_country[country] = name
    return default, per_country


def _run(args: argparse.Namespace) -> int:
    default, per_country = agencies_of(args.agency)
    db = Database.connect()
    who = Submitter(f"cli:{getpass.getuser()}", default)
    # In the audit trail with what it stored.
    results = import_directory(db, args.data, who, agencies=per_country)
    for r in results:
        state = "already stored" if r.duplicate else "stored"
        cells = r.new + r.corrected + r.unchanged  # none: a resources file
        counts = f"; {cell_counts(r.new, r.corrected, r.unchanged)}" if cells else ""
        print(f"{r.file}: {state} (submission {r.submission_id}{counts})", file=sys.stderr)
    if args.json:
        write_json(
            args.json, {"database": db.describe(), "submissions": [r.to_dict() for r in results]}
        )
    return 0
