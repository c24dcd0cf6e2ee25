"""``crossplan promote``: make a registered model version the champion."""

from __future__ import annotations

import argparse
import logging

from crossplan.pipelines import registry, tracking
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._audit import audit
from crossplan.serving.commands._output import output_path, print_summary, write_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("promote", help=COMMANDS["promote"])
    p.add_argument("--version", type=int, required=True, help="model version to promote")
    p.add_argument("--reason", required=True, help="why, recorded with the promotion")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default as for train)")
    p.add_argument("--json", type=output_path, help="write the promotion record as JSON")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # MLflow's own INFO lines would break the progress bar; the summary says what happened.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    if not args.reason.strip():
        raise ConfigurationError("--reason must say why the version is promoted")
    client = tracking.connect(args.tracking_uri)
    version = registry.promote(client, args.version, args.reason, by="manual")
    record = {
        "model": registry.MODEL_NAME,
        "version": str(version.version),
        "alias": registry.CHAMPION,
        **{
            k.removeprefix("promotion."): v
            for k, v in version.tags.items()
            if k.startswith("promotion.")
        },
    }
    audit("promotion", model=registry.MODEL_NAME, version=str(version.version),
          reason=args.reason, by="manual")  # fmt: skip
    if args.json:
        write_json(args.json, record)
    if not args.quiet:
        print_summary(f"crossplan-risk version {version.version} is now the champion", record)
    return 0
