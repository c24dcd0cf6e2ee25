"""``crossplan train``: fit forecasters, backtest, log and register them in MLflow."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from rich.table import Table

from pipelines.errors import ConfigurationError
from pipelines.train import train
from serving.commands import COMMANDS
from serving.commands._output import console, output_path, print_summary, write_json
from serving.commands._progress import progress_bar

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help=COMMANDS["train"],
        description=(
            "Validate the data, backtest every candidate on the same rolling origins (the "
            "LightGBM forecaster, its naive twin, the baselines and a blend of them), fit the "
            "best one with 80% interval coverage in [0.7, 0.9], log it to MLflow (metrics of "
            "every candidate, plots, model card, pyfunc) as crossplan-risk@challenger, and "
            "promote it to champion if it also beats the champion on the same window."
        ),
    )
    p.add_argument("--data", type=Path, required=True, help="data directory")
    p.add_argument("--horizon", type=int, default=4, help="largest horizon, periods (default 4)")
    p.add_argument(
        "--origins", type=int, default=8, help="backtest origins (default 8; 26 in backtest)"
    )
    p.add_argument(
        "--refit-every", type=int, default=4, help="refit every N backtest origins (default 4)"
    )
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI "
                   "or sqlite under $CROSSPLAN_HOME)")  # fmt: skip
    p.add_argument("--json", type=output_path, help="write results as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.horizon < 1:
        raise ConfigurationError(f"--horizon must be at least 1, got {args.horizon}")
    if args.origins < 1 or args.refit_every < 1:
        raise ConfigurationError("--origins and --refit-every must be at least 1")
    # MLflow's own INFO lines would break the progress bar; the summary says what happened.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with progress_bar("training", quiet=args.quiet) as report:
        result = train(
            args.data,
            horizon=args.horizon,
            origins=args.origins,
            refit_every=args.refit_every,
            tracking_uri=args.tracking_uri,
            progress=report,
        )
    if args.json:
        write_json(args.json, result.to_json())
    if not args.quiet:
        chosen = result.selection.candidate
        main = result.backtest["models"][chosen]["observed"]
        print_summary(
            f"Trained crossplan-risk version {result.version}: {chosen}",
            {
                "run_id": result.run_id,
                "tracking_uri": result.tracking_uri,
                "candidate": chosen,
                "champion": "yes" if result.decision.promote else "no (challenger)",
                "decision": result.decision.reason,
                **{f"backtest_{k}": round(v, 4) for k, v in main.items()},
                "seconds": round(result.seconds, 1),
            },
        )
        _print_candidates(result.selection.scores, chosen)
        console.print("Full metrics: MLflow experiment 'crossplan' (mlflow ui) or --json.")
    return 0


def _print_candidates(scores: dict[str, dict[str, Any]], chosen: str) -> None:
    table = Table(
        title="Candidates on the same backtest window (observed counts)", title_justify="left"
    )
    for col in ("candidate", "poisson_deviance", "coverage80", "eligible"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for name, s in sorted(scores.items(), key=lambda kv: kv[1]["poisson_deviance"]):
        label = f"{name} (chosen)" if name == chosen else name
        table.add_row(
            label, f"{s['poisson_deviance']:.4f}", f"{s['coverage80']:.3f}",
            "yes" if s["eligible"] else "no",
        )  # fmt: skip
    console.print(table)
