"""``crossplan plan``: allocate patrols and joint operations from a forecast."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from crossplan.optimize.forecast import FORECAST_COLUMNS
from crossplan.optimize.solver_runs import SOLVERS
from crossplan.pipelines.errors import (
    ConfigurationError,
    CrossplanError,
    PlanningFailedError,
)
from crossplan.pipelines.plan_request import DEFAULT_HORIZON
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import (
    at_least_one,
    output_path,
    print_summary,
    write_json,
    write_text,
)
from crossplan.serving.commands.data import parse_time

if TYPE_CHECKING:
    from crossplan.optimize import Plan
    from crossplan.optimize.command import Command

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help=COMMANDS["plan"],
        description=(
            "Allocate units' shifts to regions, and launch joint operations, so that "
            "expected interdictions are highest under the resources' policy. Forecasts come "
            "from the champion model, or from --forecast. Prints a summary and writes the plan "
            "(with explanations and baselines) as JSON; when no plan meets every constraint, "
            "prints the diagnosis, writes nothing and exits 2. Without --country the plan is "
            "the operator's central proposal over every unit, binding on no agency; with "
            "--country and --agency it is that agency's plan of its own units, with --country "
            "and --scope national every unit of that country. A joint operation a party cannot "
            "staff is not launched, and the summary says why."
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
    p.add_argument(
        "--country",
        help="plan as this country's planner (ISO 3166-1 alpha-3): only its units are "
        "assigned (default: the operator's central proposal over every unit)",
    )
    p.add_argument("--agency", help="with --country: plan as this agency, assigning its units only")
    p.add_argument(
        "--scope",
        choices=["agency", "national"],
        help="with --country: 'national' assigns every unit of the country (a national "
        "coordination centre), 'agency' (the default) the agency's units",
    )
    p.add_argument("--json", type=output_path, help="write the plan as JSON to this path")
    p.add_argument(
        "--tasking",
        type=output_path,
        metavar="FILE.csv",
        help="write the plan's per-unit taskings (unit, period, region, shifts, joint "
        "operation) as CSV to this path",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from crossplan.optimize.errors import pydantic_problems
    from crossplan.pipelines.contract import input_fingerprint, load_dataset
    from crossplan.pipelines.contract.forecast_table import read_forecast_table
    from crossplan.pipelines.plan_request import PlanRequest
    from crossplan.pipelines.plan_use_case import make_plan

    at_least_one(args, "--horizon")
    command = _command(args)
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
        from crossplan.pipelines.database import Database, confirmed_operations, load_panel

        if args.resources is not None:
            raise ConfigurationError(
                "--resources goes with --data — fix: import resources.json into the database "
                "(crossplan import), or plan on a data directory"
            )
        db = Database.connect()
        panel = load_panel(db, args.as_of)
        dataset, fingerprint, as_of = panel.dataset, panel.fingerprint, panel.as_of_iso
        # The operations agreed so far bind every party's plan of their periods.
        operations = confirmed_operations(db)
    else:
        if args.as_of is not None:
            raise ConfigurationError("--as-of goes with --database")
        dataset = load_dataset(args.data, args.resources)
        fingerprint, as_of, operations = input_fingerprint(args.data), None, None
    if dataset.resources is None:
        raise ConfigurationError(
            "no resources — fix: give --resources FILE or put resources.json in the data "
            "directory (or import it into the database)"
        )
    override = None if args.forecast is None else read_forecast_table(args.forecast)
    model = None
    if override is None:
        from crossplan.pipelines.forecasting import champion_forecast

        # Imported here: it loads MLflow and the models, which a forecast file does not need.
        model = champion_forecast(dataset, request.horizon)
    try:
        plan = make_plan(
            request,
            dataset,
            model,
            data_fingerprint=fingerprint,
            as_of=as_of,
            forecast=override,
            forecast_source="forecast" if args.forecast is None else args.forecast.name,
            command=command,
            operations=operations,
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
    if args.tasking:
        from crossplan.serving.tasking import PlanContext, tasking_csv, tasking_rows

        rows = tasking_rows(plan.to_dict(), PlanContext.of(None, dataset))
        write_text(args.tasking, tasking_csv(rows))
    for warning in plan.warnings:
        print(f"crossplan plan: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print_summary("Plan", _summary(plan))
        for line in _not_launched(plan):
            print(line)
    return 0


def _command(args: argparse.Namespace) -> Command | None:
    """Whose plan it is: ``None`` (the operator) unless ``--country`` says."""
    from pydantic import ValidationError

    from crossplan.optimize.command import Command

    if args.country is None:
        if args.agency is not None or args.scope is not None:
            raise ConfigurationError(
                "--agency and --scope go with --country — fix: give --country ISO3, or leave "
                "them out for the operator's central proposal over every unit"
            )
        return None
    national = args.scope == "national"
    if not national and args.agency is None:
        raise ConfigurationError(
            f"whose units? — fix: give --agency NAME to plan that agency's units of "
            f"{args.country}, or --scope national to plan every unit of {args.country}"
        )
    try:
        return Command(
            country=args.country, agency=args.agency, scope="national" if national else "agency"
        )
    except ValidationError:
        raise ConfigurationError(
            f"--country {args.country!r} is not an ISO 3166-1 alpha-3 code — fix: e.g. GRC"
        ) from None


def _not_launched(plan: Plan) -> list[str]:
    """Each joint operation not launched in some period, and why, in lines to print."""
    periods: dict[tuple[str, str], list[str]] = {}
    for o, state in plan.operation_periods():
        if not state.launched and state.reason:
            periods.setdefault((o.operation_id, state.reason), []).append(state.period)
    return [
        f"{operation} not launched ({', '.join(when)}): {reason}"
        for (operation, reason), when in periods.items()
    ]


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
        "planned by": plan.command.planner
        + ("" if plan.binding else " (a central proposal: binds no agency)"),
        "assignments": len(plan.assignments),
        "operations launched": sum(s.launched for _, s in plan.operation_periods()),
    }
