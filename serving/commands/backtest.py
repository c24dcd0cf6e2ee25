"""``crossplan backtest``: rolling-origin backtest of every forecaster."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from crossplan.pipelines.backtest import (
    BACKTEST_ORIGINS,
    HORIZON,
    backtest,
    candidates,
    cross_validation_frame,
)
from crossplan.pipelines.contract import load_dataset, read_truth
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.selection import BLEND, Selection, judge
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import (
    at_least_one,
    console,
    not_eligible_lines,
    output_path,
    print_table,
    write_json,
)
from crossplan.serving.commands._progress import progress_bar

__all__ = ["register"]

_JSON_ONLY = ("pit_coverage50", "pit_coverage90", "pit_below_q10", "pit_above_q90")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backtest",
        help=COMMANDS["backtest"],
        description=(
            "Fit every model on the data up to each of the last N periods and forecast "
            "horizons 1..H from there, add a blend of them (weights fitted on earlier "
            "origins only), and score against observed counts and, on simulated worlds "
            "(truth.parquet present), against the true activity. The winner is named by the "
            "rule crossplan train uses (eligibility on count-aware coverage, gains beyond "
            "the noise of these origins), with the 90% interval of each difference. The "
            "backtest is logged to MLflow as a run of its own (tag crossplan.kind=backtest: the "
            "panel as a dataset, every forecast, metric tables, calibration plots) unless "
            "--no-mlflow."
        ),
    )
    p.add_argument("--data", type=Path, required=True, help="data directory")
    p.add_argument(
        "--origins",
        type=int,
        default=BACKTEST_ORIGINS,
        help="forecast origins (default %(default)s)",
    )
    p.add_argument(
        "--horizon", type=int, default=HORIZON, help="largest horizon (default %(default)s)"
    )
    p.add_argument(
        "--refit-every", type=int, default=1, help="refit every N origins (default 1: always)"
    )
    p.add_argument("--models", nargs="+", metavar="NAME", help="models to compare (default: all)")
    p.add_argument("--json", type=output_path, help="write metrics as JSON to this path")
    p.add_argument(
        "--predictions", type=output_path, help="write every backtest forecast (Parquet or CSV)"
    )
    p.add_argument(
        "--cv-out",
        type=output_path,
        help="write the forecasts as Nixtla cross-validation output (unique_id, ds, cutoff, "
        "y, a mean column per model, {model}-lo-80, {model}-hi-80; Parquet or CSV)",
    )
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI "
                   "or sqlite under $CROSSPLAN_HOME)")  # fmt: skip
    p.add_argument("--no-mlflow", action="store_true", help="do not log the backtest to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    at_least_one(args, "--horizon", "--origins", "--refit-every")
    for option, path in (("--predictions", args.predictions), ("--cv-out", args.cv_out)):
        if path and path.suffix.lower() not in (".csv", ".parquet"):
            raise ConfigurationError(f"{option} {path}: give a .csv or .parquet file name")
    ds = load_dataset(args.data)
    if len(ds.periods) < args.origins + 3:
        raise ConfigurationError(
            f"{len(ds.periods)} periods are too few for {args.origins} origins — fix: use "
            f"--origins {max(len(ds.periods) - 3, 1)} or fewer"
        )
    models = candidates(args.horizon, has_effort=ds.has_effort)
    if args.models:
        unknown = sorted(set(args.models) - set(models) - {BLEND})
        if unknown:
            raise ConfigurationError(
                f"unknown model(s) {', '.join(unknown)} — fix: choose from "
                f"{', '.join([*models, BLEND])}"
            )
        models = {k: v for k, v in models.items() if k in args.models}
    truth = read_truth(args.data) if (args.data / "truth.parquet").exists() else None
    client = None
    if not args.no_mlflow:
        # Imported here: --no-mlflow does without MLflow's import (seconds).
        from crossplan.pipelines import tracking

        # MLflow's own INFO lines would break the progress lines; the summary says the run.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        client = tracking.connect(args.tracking_uri)  # an unreachable store fails before work
    with progress_bar("backtest", quiet=args.quiet) as report:
        result = backtest(
            ds.incidents, ds.regions, ds.adjacency, models,
            origins=args.origins, horizon=args.horizon, refit_every=args.refit_every,
            truth=truth, frequency=ds.frequency, progress=report,
        )  # fmt: skip
    blend = len(models) > 1 and (not args.models or BLEND in args.models)
    verdict = judge(result, models, has_effort=ds.has_effort, blend=blend)
    result, selection = verdict.result, verdict.selection
    payload = {**result.to_json(), "selection": selection.to_dict()}
    if client is not None:
        from crossplan.pipelines.run_artifacts import log_backtest_run

        payload |= log_backtest_run(client, args.data, ds, result, selection, args.refit_every)
    if args.json:
        write_json(args.json, payload)
    if args.predictions:
        _write_table(result.predictions, args.predictions)
    if args.cv_out:
        _write_table(cross_validation_frame(result.predictions), args.cv_out)
    if not args.quiet:
        _print(payload, len(result.origins))
        _print_verdict(selection)
        if "run_id" in payload:
            console.print(f"Logged to MLflow: run {payload['run_id']} in experiment "
                          f"'crossplan' ({payload['tracking_uri']}): {payload['mlflow_ui']}")  # fmt: skip
    return 0


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def _print(payload: dict[str, Any], origins: int) -> None:
    for scope, title in (("observed", "observed counts"), ("truth", "true activity")):
        rows = {n: m[scope] for n, m in payload["models"].items() if scope in m}
        if not rows:
            continue
        # The count-aware coverage at other levels and its tails are in --json.
        cols = [c for c in next(iter(rows.values())) if c not in _JSON_ONLY]
        table = Table(
            title=f"Backtest against {title}: {origins} origins, horizons 1-{payload['horizon']}",
            title_justify="left",
        )
        table.add_column("model", style="bold")
        for c in cols:
            table.add_column(c, justify="right")
        for name, metrics in rows.items():
            table.add_row(name, *(f"{metrics[c]:.3f}" for c in cols))
        console.print(table)


def _print_verdict(selection: Selection) -> None:
    """The winner by training's rule, each candidate's difference to it with its interval."""
    chosen, origins = selection.candidate, selection.test.get("origins")
    table = Table(
        title=f"Winner by the rule of crossplan train: {chosen} (on {origins} origins)",
        title_justify="left",
    )
    for col in ("candidate", "poisson_deviance", "vs winner (90%)", "count-aware cov80",
                "eligible", "beaten by"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("candidate", "beaten by") else "right")
    for name, s in sorted(selection.scores.items(), key=lambda kv: kv[1]["poisson_deviance"]):
        lo, hi = s["vs_chosen"]["interval90"]
        table.add_row(
            f"{name} (winner)" if name == chosen else name, f"{s['poisson_deviance']:.4f}",
            f"{s['vs_chosen']['difference']:+.4f} ({lo:+.3f}..{hi:+.3f})",
            f"{s['pit_coverage80']:.3f}", "yes" if s["eligible"] else "no (below)",
            ", ".join(s["beaten_by"]),
        )  # fmt: skip
    print_table(table)
    for line in not_eligible_lines(selection.scores):
        console.print(line)
    console.print(selection.reason)
