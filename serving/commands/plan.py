"""``crossplan plan``: allocate patrols and joint operations from a forecast."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from optimize.forecast import FORECAST_COLUMNS
from optimize.solvers import SOLVERS
from pipelines.errors import (
    ConfigurationError,
    CrossplanError,
    PlanningFailedError,
)
from pipelines.plan_request import DEFAULT_HORIZON
from serving.commands import COMMANDS
from serving.commands._output import at_least_one, output_path, print_summary, write_json
from serving.commands.data import parse_time

if TYPE_CHECKING:
    import pandas as pd

    from optimize import Plan
    from pipelines.contract import Dataset
    from pipelines.plan_request import ModelRef

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help=COMMANDS["plan"],
        description=(
            "Allocate every unit's shifts to regions, and launch joint operations, so that "
            "expected interdictions are highest under the resources' policy. Forecasts come "
            "from the champion model, or from --forecast. Prints a summary and writes the plan "
            "(with explanations and baselines) as JSON; when no plan meets every constraint, "
            "prints the diagnosis, writes nothing and exits 2."
        ),
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="data directory")
    source.add_argument(
        "--database",
        action="store_true",
        help="plan on the shared database's panel (CROSSPLAN_DATABASE_URL or "
        "$CROSSPLAN_HOME/crossplan.db), as the service does",
    )
    p.add_argument(
        "--as-of",
        type=parse_time,
        help="with --database: the panel as it was at this time (ISO 8601), e.g. a stored "
        "plan's data.as_of to re-derive it",
    )
    p.add_argument(
        "--resources", type=Path, help="resources JSON (default: resources.json in --data)"
    )
    p.add_argument(
        "--horizon",
        type=int,
        help=f"periods to plan, from the first (default {DEFAULT_HORIZON}, as POST /plan)",
    )
    p.add_argument("--solver", choices=SOLVERS, default="cbc", help="MILP solver (default cbc)")
    p.add_argument(
        "--risk-quantile",
        type=float,
        help="forecast quantile to plan on, 0.1 to 0.9 (default: the policy's)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        help="solver time limit in seconds (default: the policy's, else none)",
    )
    p.add_argument(
        "--forecast",
        type=Path,
        help=f"forecast table, CSV or Parquet, with {', '.join(FORECAST_COLUMNS)} "
        "(and optionally category); default: the champion model's forecast",
    )
    p.add_argument("--json", type=output_path, help="write the plan as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from optimize.errors import pydantic_problems
    from pipelines.contract import input_fingerprint, load_dataset
    from pipelines.contract.forecast_table import read_forecast_table
    from pipelines.plan_request import PlanRequest
    from pipelines.planning import make_plan

    at_least_one(args, "--horizon")
    if args.time_limit is not None and args.time_limit <= 0:
        raise ConfigurationError(f"--time-limit must be positive, got {args.time_limit}")
    try:
        given = {
            "horizon": args.horizon,
            "solver": args.solver,
            "time_limit_s": args.time_limit,
            "risk_quantile": args.risk_quantile,
        }
        # What is not given takes the request's own default, as over HTTP.
        request = PlanRequest(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as err:
        flags = {
            "horizon": "--horizon",
            "time_limit_s": "--time-limit",
            "risk_quantile": "--risk-quantile",
        }
        raise ConfigurationError(
            "; ".join(
                f"{flags.get(p.where, p.where)}: {p.message} — fix: {p.fix}"
                for p in pydantic_problems(err.errors())
            )
        ) from None
    if args.database:
        from pipelines.database import Database, load_panel

        if args.resources is not None:
            raise ConfigurationError(
                "--resources goes with --data — fix: import resources.json into the database "
                "(crossplan import), or plan on a data directory"
            )
        panel = load_panel(Database.connect(), args.as_of)
        dataset, fingerprint, as_of = panel.dataset, panel.fingerprint, panel.as_of_iso
    else:
        if args.as_of is not None:
            raise ConfigurationError("--as-of goes with --database")
        dataset = load_dataset(args.data, args.resources)
        fingerprint, as_of = input_fingerprint(args.data), None
    if dataset.resources is None:
        raise ConfigurationError(
            "no resources — fix: give --resources FILE or put resources.json in the data "
            "directory (or import it into the database)"
        )
    override = None if args.forecast is None else read_forecast_table(args.forecast)
    try:
        plan = make_plan(
            request,
            dataset,
            champion,
            data_fingerprint=fingerprint,
            as_of=as_of,
            forecast=override,
            forecast_source="forecast" if args.forecast is None else args.forecast.name,
        )
    except PlanningFailedError as err:
        raise PlanningFailedError(
            f"{err} (--time-limit SECONDS, --solver {'/'.join(SOLVERS)})"
        ) from None
    if not plan.feasible:
        raise CrossplanError(
            "no plan meets every constraint; nothing was written. Diagnosis:\n"
            + plan.diagnosis_text()
        )
    if args.json:
        write_json(args.json, plan.to_dict())
    for warning in plan.warnings:
        print(f"crossplan plan: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print_summary("Plan", _summary(plan))
    return 0


def champion(dataset: Dataset, horizon: int) -> tuple[pd.DataFrame, ModelRef]:
    """The champion model's forecast and its name, version and training time, or an error
    that says how to get one."""
    from pipelines.plan_request import ModelRef

    try:
        # Imported here: it loads MLflow and the models, which the other paths do not need.
        from pipelines.forecasting import load_champion
    except ImportError as err:
        raise ConfigurationError(
            f"no forecasting model is available ({err}) — fix: train and register a model "
            "(crossplan train --data DIR) or pass --forecast FILE"
        ) from None
    from pipelines.home import default_tracking_uri, resolve_tracking_uri

    uri = resolve_tracking_uri()
    if uri == default_tracking_uri() and not Path(uri.removeprefix("sqlite:///")).exists():
        # Asking MLflow would create an empty store here: say what to do instead.
        raise ConfigurationError(
            f"no model store at {uri.removeprefix('sqlite:///')} — fix: run in the project "
            "(or set CROSSPLAN_HOME or MLFLOW_TRACKING_URI), train a model first "
            "(crossplan train --data DIR), or pass --forecast FILE"
        )
    try:
        loaded = load_champion()
        forecast = loaded.predict(dataset, horizon)
    except CrossplanError as err:
        raise ConfigurationError(f"{err}; or pass --forecast FILE to plan on your own") from None
    ref = ModelRef(name=loaded.name, version=str(loaded.version), trained_at=loaded.trained_at)
    return forecast, ref


def _summary(plan: Plan) -> dict[str, object]:
    def value(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    return {
        "status": plan.status.value,
        "periods": list(plan.periods),
        "expected interdictions": value(plan.objective),
        "uniform policy": value(plan.baselines.get("uniform")),
        "proportional policy": value(plan.baselines.get("proportional")),
        "gap": "unknown" if plan.gap is None else f"{plan.gap:.2%}",
        "solver": f"{plan.solver}, {plan.solve_seconds:.2f} s",
        "assignments": len(plan.assignments),
        "operations launched": sum(o.launched for o in plan.joint_operations),
    }
