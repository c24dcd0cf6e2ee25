"""``crossplan train``: fit forecasters, backtest, log and register them in MLflow."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from crossplan.pipelines.backtest import BACKTEST_ORIGINS, HORIZON
from crossplan.pipelines.cluster import SCHEDULER_VARIABLE, connect
from crossplan.pipelines.conventions import COVERAGE_WINDOW
from crossplan.pipelines.train import TRAIN_ORIGINS, TRAIN_REFIT_EVERY, train
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._audit import audit
from crossplan.serving.commands._output import (
    at_least_one,
    console,
    not_eligible_lines,
    output_path,
    print_summary,
    print_table,
    write_json,
)
from crossplan.serving.commands._progress import progress_bar
from crossplan.serving.settings import Settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help=COMMANDS["train"],
        description=(
            "Validate the data, backtest every candidate on the same rolling origins (the "
            "LightGBM forecaster, its naive twin, the baselines and a blend of them), choose "
            f"among those with 80% interval coverage in {COVERAGE_WINDOW} the one that "
            "replaced every simpler candidate beyond the backtest's noise (a paired "
            "bootstrap over origins), fit it, log it to MLflow (the panel as a dataset, "
            "metrics of every candidate, every backtest forecast, metric tables, "
            "selection.json, calibration plots, model card, pyfunc) as "
            "crossplan-risk@challenger with a description of its panel and verdict, and "
            "promote it to champion if it also beats the champion on the same window."
        ),
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="data directory")
    source.add_argument(
        "--database",
        action="store_true",
        help="train on the shared database's current panel ($CROSSPLAN_HOME/crossplan.db or "
        "CROSSPLAN_DATABASE_URL); the run records its as-of time and fingerprint",
    )
    p.add_argument(
        "--horizon",
        type=int,
        default=HORIZON,
        help="largest horizon, periods (default %(default)s)",
    )
    p.add_argument(
        "--origins",
        type=int,
        default=TRAIN_ORIGINS,
        help=f"backtest origins (default %(default)s; {BACKTEST_ORIGINS} in backtest)",
    )
    p.add_argument(
        "--refit-every",
        type=int,
        default=TRAIN_REFIT_EVERY,
        help="refit every N backtest origins (default %(default)s)",
    )
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI "
                   "or sqlite under $CROSSPLAN_HOME)")  # fmt: skip
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the backtest's fits and the final fit on the Dask scheduler at ADDRESS "
        f"(e.g. tcp://host:8786; default: ${SCHEDULER_VARIABLE}, else this machine); same "
        "selection and numbers as a local run, except that a LightGBM fit of at least "
        "$CROSSPLAN_DASK_DISTRIBUTED_ROWS training rows is spread over all workers "
        "(lightgbm.dask), which is close to a local fit but not the same to the last digit",
    )
    p.add_argument("--json", type=output_path, help="write results as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    at_least_one(args, "--horizon", "--origins", "--refit-every")
    # MLflow's own INFO lines would break the progress bar; the summary says what happened.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    panel = None
    if args.database:
        from crossplan.pipelines.database import Database, load_panel

        panel = load_panel(Database.connect())
    settings = Settings.from_env()
    cluster = args.cluster or settings.dask_scheduler
    with (
        connect(cluster, distributed_rows=settings.dask_distributed_rows) as runner,
        progress_bar("training", quiet=args.quiet) as report,
    ):
        result = train(
            args.data,
            panel=panel,
            horizon=args.horizon,
            origins=args.origins,
            refit_every=args.refit_every,
            tracking_uri=args.tracking_uri,
            progress=report,
            runner=runner,
        )
    if result.decision.promote:
        audit("promotion", model="crossplan-risk", version=str(result.version),
              reason=result.decision.reason, by="gate", run_id=result.run_id)  # fmt: skip
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
                "mlflow_ui": result.ui_url,
                "candidate": chosen,
                "champion": "yes" if result.decision.promote else "no (challenger)",
                "decision": result.decision.reason,
                **(
                    {"compromise": result.selection.compromise}
                    if result.selection.compromise
                    else {}
                ),
                **{f"backtest_{k}": round(v, 4) for k, v in main.items()},
                "seconds": round(result.seconds, 1),
                "ran_on": runner.where,
            },
        )
        print_table(candidates_table(result.selection.scores, chosen))
        for line in not_eligible_lines(result.selection.scores):
            console.print(line)
        console.print(f"Next: {result.decision.next_step(str(result.version))}")
        console.print(
            "Full metrics: the run at mlflow_ui (for a local store, start `mlflow ui "
            "--backend-store-uri` with the tracking_uri first) or --json."
        )
    return 0


def candidates_table(scores: dict[str, dict[str, Any]], chosen: str) -> Table:
    """Every candidate's score on the backtest window, and its difference to ``chosen``."""
    table = Table(
        title="Candidates on the same backtest window (observed counts)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,  # ten columns in 120 characters
    )
    columns = ("candidate", "poisson\ndeviance", "vs chosen", "its 90%\ninterval",
               "count-aware\ncoverage80", "coverage80", "below\nq10", "above\nq90",
               "interval\nscore80", "eligible")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col == "candidate" else "right", no_wrap=True)
    for name, s in sorted(scores.items(), key=lambda kv: kv[1]["poisson_deviance"]):
        label = f"{name} (chosen)" if name == chosen else name
        lo, hi = s["vs_chosen"]["interval90"]
        table.add_row(
            label, f"{s['poisson_deviance']:.4f}", f"{s['vs_chosen']['difference']:+.4f}",
            f"{lo:+.3f}..{hi:+.3f}", f"{s.get('pit_coverage80', s['coverage80']):.3f}",
            f"{s['coverage80']:.3f}", f"{s['below_q10']:.3f}", f"{s['above_q90']:.3f}",
            f"{s['interval_score80']:.3f}", "yes" if s["eligible"] else "no (below)",
        )  # fmt: skip
    return table
