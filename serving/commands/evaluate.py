"""``crossplan evaluate``: closed-loop evaluation of planning policies on simulated worlds."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.progress import Progress
from rich.table import Table

from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.evaluation import POLICIES, EvaluationConfig, evaluate
from crossplan.pipelines.evaluation.report import log_to_mlflow, targets, write_report
from crossplan.pipelines.evaluation.summary import Evaluation
from crossplan.pipelines.simulate import WorldConfig
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import console, output_path, write_json

__all__ = ["register"]


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"each seed once, got {text!r}")
    return values


def _names(text: str) -> tuple[str, ...]:
    values = tuple(s.strip() for s in text.split(",") if s.strip())
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"each policy once, got {text!r}")
    return values


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help=COMMANDS["evaluate"],
        description=(
            "Play planning policies against simulated worlds with known truth, round by round "
            "(plan, step the world, observe, retrain), and report interceptions, effort "
            "concentration, blind spots and fairness across countries."
        ),
    )
    p.add_argument(
        "--seeds",
        type=_ints,
        default=EvaluationConfig.seeds,
        help=f"worlds to simulate (default {','.join(map(str, EvaluationConfig.seeds))})",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=EvaluationConfig.rounds,
        help="periods each policy plans (default %(default)s)",
    )
    p.add_argument(
        "--retrain-every",
        type=int,
        default=EvaluationConfig.retrain_every,
        help="model refit interval in rounds (default %(default)s)",
    )
    p.add_argument(
        "--policies",
        type=_names,
        default=POLICIES,
        help=f"comma-separated (default {','.join(POLICIES)})",
    )
    for option in ("countries", "regions"):
        p.add_argument(
            f"--{option}",
            type=int,
            default=getattr(EvaluationConfig, option),
            help="world option, as for simulate (default %(default)s)",
        )
    p.add_argument(
        "--periods",
        type=int,
        default=EvaluationConfig.periods,
        help="weeks of history (default %(default)s)",
    )
    p.add_argument("--solver", choices=["cbc", "highs"], default=EvaluationConfig.solver)
    p.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    p.add_argument("--json", type=output_path, help="write results as JSON to this path")
    p.add_argument(
        "--report", type=output_path, help="write a markdown report (and PNG plots beside it)"
    )
    p.add_argument("--no-mlflow", action="store_true", help="do not log the evaluation to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = EvaluationConfig(
        seeds=args.seeds,
        rounds=args.rounds,
        retrain_every=args.retrain_every,
        policies=args.policies,
        countries=args.countries,
        regions=args.regions,
        periods=args.periods,
        solver=args.solver,
    )
    problems = config.check()
    if args.jobs < 1:
        problems.append("--jobs must be at least 1")
    if problems:
        raise ConfigurationError("; ".join(problems))
    for seed in config.seeds:  # refuse bad world options before hours of work
        WorldConfig(seed, config.countries, config.regions, config.periods).check()
    if not args.no_mlflow:  # and a store the run could not be logged to
        from crossplan.pipelines.home import check_home, resolve_tracking_uri

        uri = resolve_tracking_uri()
        if uri.startswith("sqlite:///"):
            check_home(Path(uri.removeprefix("sqlite:///")))

    started = time.perf_counter()
    with Progress(console=console, transient=True, disable=args.quiet) as progress:
        task = progress.add_task(
            "policy × seed runs", total=len(config.seeds) * len(config.policies)
        )
        ev = evaluate(
            config,
            n_jobs=args.jobs,
            on_done=lambda done, total: progress.update(task, completed=done),
        )
    seconds = time.perf_counter() - started
    results = ev.to_json()
    results["seconds"] = round(seconds, 1)
    files = write_report(ev, args.report, seconds) if args.report else []
    if args.json:
        write_json(args.json, results)
    if not args.no_mlflow:
        results["mlflow_run_id"] = log_to_mlflow(ev, files, results)
        if args.json:
            write_json(args.json, results)
    _print(ev, seconds)
    return 0


def _print(ev: Evaluation, seconds: float) -> None:
    table = Table(title=f"Closed-loop evaluation ({seconds:.0f} s)", title_justify="left")
    for c in (
        "policy",
        "intercepted",
        "share of oracle",
        "share of central",
        "joint operations",
        "Gini",
        "blind-spot activity",
        "max country gap",
    ):
        table.add_column(c, justify="right" if c != "policy" else "left")
    for policy, row in ev.per_policy.iterrows():
        table.add_row(
            str(policy),
            f"{row[('intercepted', 'mean')]:.0f}",
            f"{row[('share_of_oracle', 'mean')]:.3f}",
            f"{row[('share_of_central', 'mean')]:.3f}",
            f"{row[('joint_operations', 'mean')]:.0f}",
            f"{row[('gini', 'mean')]:.3f}",
            f"{row[('blind_spot_activity', 'mean')]:.0f}",
            f"{row[('max_country_gap', 'mean')]:.3f}",
        )
    console.print(table)
    for statement, measured, met in targets(ev):
        console.print(f"{'✓' if met else '✗'} {statement}: {measured}")
