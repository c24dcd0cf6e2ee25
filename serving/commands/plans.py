"""``crossplan plans``: the shared database's stored plans, as the operator reads them.

``list`` the latest, ``tasking PLAN_ID`` a plan's per-unit taskings (CSV, printable page),
``diff A B`` what moved from plan A to plan B. The command reads every plan whole (the
operator's reading, the same function that shapes a plan for every key of the service).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import (
    console,
    counted,
    output_path,
    positive_int,
    write_json,
    write_text,
)

if TYPE_CHECKING:
    from crossplan.pipelines.contract import Dataset
    from crossplan.pipelines.database import PlanRecord

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plans",
        help=COMMANDS["plans"],
        description=(
            "The plans stored in the shared database ($CROSSPLAN_HOME/crossplan.db or "
            "CROSSPLAN_DATABASE_URL), read whole, as the operator reads them. `list` shows the "
            "latest; `tasking PLAN_ID` each unit's shifts per period and region, with the "
            "joint operation it works in (CSV on the standard output, or --csv FILE and "
            "--html FILE: a printable page, one unit per page); `diff A B` the shifts that "
            "moved per unit and period, the joint operations launched in one plan only, and "
            "the figures. An unknown plan id exits 2."
        ),
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the latest plans, newest first")
    listing.add_argument("--limit", type=positive_int, default=20, help="how many (default 20)")
    listing.set_defaults(run=_list)
    tasking = actions.add_parser("tasking", help="a plan's per-unit taskings")
    tasking.add_argument("plan_id", metavar="PLAN_ID")
    tasking.add_argument("--csv", type=output_path, help="write the taskings as CSV here")
    tasking.add_argument(
        "--html", type=output_path, help="write the printable page here (one unit per page)"
    )
    tasking.set_defaults(run=_tasking)
    diff = actions.add_parser("diff", help="what moved from plan A to plan B")
    diff.add_argument("a", metavar="A", help="plan A's id")
    diff.add_argument("b", metavar="B", help="plan B's id")
    diff.add_argument("--json", type=output_path, help="write the difference as JSON here")
    diff.set_defaults(run=_diff)


def _list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from crossplan.pipelines.database import Database, PlanStore

    found = PlanStore(Database.connect()).recent(args.limit)
    if not found:
        console.print("no plans stored yet")
        return 0
    table = Table(title="Plans, newest first", title_justify="left")
    for name in ("plan id", "made", "requester", "country", "status", "objective"):
        table.add_column(name)
    for s in found:
        objective = "-" if s.objective is None else f"{s.objective:.2f}"
        table.add_row(
            s.plan_id, s.created_at[:19], s.requester, s.country or "-", s.status, objective
        )
    console.print(table)
    return 0


def _tasking(args: argparse.Namespace) -> int:
    from crossplan.serving.tasking import PlanContext, tasking_csv, tasking_rows
    from crossplan.serving.tasking_page import tasking_html

    (record, plan), dataset = _read([args.plan_id])
    rows = tasking_rows(plan, PlanContext.of(record.request, dataset))
    if args.csv is None and args.html is None:
        sys.stdout.write(tasking_csv(rows))
        return 0
    if args.csv is not None:
        write_text(args.csv, tasking_csv(rows))
    if args.html is not None:
        write_text(
            args.html, tasking_html(plan, rows, requester=record.requester, inline_style=True)
        )
    units = len({r.unit_id for r in rows})
    written = " and ".join(str(p) for p in (args.csv, args.html) if p is not None)
    print(
        f"plan {record.plan_id}: {counted(len(rows), 'tasking')} of {counted(units, 'unit')} "
        f"written to {written}"
    )
    return 0


def _diff(args: argparse.Namespace) -> int:
    from crossplan.serving.plan_diff import diff_plans

    (_, a), (_, b), dataset = _read([args.a, args.b])
    diff = diff_plans(a, b, dataset.region_names)
    if args.json is not None:
        write_json(args.json, diff.model_dump(mode="json"))
    print(diff.summary)
    return 0


def _read(plan_ids: list[str]) -> Any:
    """Each plan (its record and its body as the operator reads it), then the panel's
    dataset (region names, and the resources of plans whose request sent none)."""
    from crossplan.pipelines.database import Database, PlanStore, load_panel
    from crossplan.serving.http_errors import PlanNotFoundError
    from crossplan.serving.sharing import OPERATOR, SharingPolicy

    db = Database.connect()
    store = PlanStore(db)
    records: list[PlanRecord] = []
    for plan_id in plan_ids:
        record = store.get(plan_id)
        if record is None:
            raise PlanNotFoundError(
                f"no plan with id '{plan_id}' in the shared database — fix: `crossplan plans "
                "list` shows the stored plans' ids"
            )
        records.append(record)
    panel = load_panel(db)
    policy = SharingPolicy(panel, OPERATOR)
    dataset: Dataset = panel.dataset
    return (*((r, policy.plan(r)) for r in records), dataset)
