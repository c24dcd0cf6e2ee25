"""``crossplan operations``: joint operations in the shared database, as the operator.

The command line acts on the shared database directly, as the operator (``cli:USER``, no
country): it reads every operation, proposes for any parties, pledges and declines for a
party country, withdraws and cancels any operation, and seeds the resources' candidate
operations as proposals. The rules, the audit trail and the parties' alerts are those of
``/operations`` (:mod:`pipelines.database.operations`); the alerts are posted to the parties'
webhooks before the command ends.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from datetime import UTC, date, datetime
from typing import Any

from rich.table import Table

from crossplan.pipelines.database import (
    Actor,
    Database,
    Need,
    OperationRecord,
    Outcome,
    Posts,
    Proposal,
    UnitPledge,
    cancel,
    confirmed_operations,
    decline,
    expire_due,
    get_operation,
    list_operations,
    load_panel,
    next_period,
    pledge,
    propose,
    seed_operations,
    utcnow,
    withdraw,
)
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.commands import COMMANDS
from crossplan.serving.commands._output import console, output_path, write_json
from crossplan.serving.outbox import posts_for

__all__ = ["register"]

_ACTIONS = (
    "list", "show", "value", "propose", "pledge", "decline", "withdraw", "cancel", "seed",
)  # fmt: skip
_STATUSES = ("open", "confirmed", "expired", "withdrawn", "cancelled")
_NEED = re.compile(r"^([A-Z]{3})(?:/(.{1,200}))?=(\d{1,6})$")
_UNIT = re.compile(r"^(.{1,200}?)(?:@(\d{4}-\d{2}-\d{2}))?=(\d{1,6})$")
# Seconds the command waits for the alerts' posts to go out before it ends.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "operations",
        help=COMMANDS["operations"],
        description=(
            "Joint operations of the shared database ($CROSSPLAN_HOME/crossplan.db or "
            "CROSSPLAN_DATABASE_URL), as the operator. `list` and `show ID` read them; `propose` "
            "drafts one (--regions, --periods, a --need per party); `pledge ID --unit "
            "UNIT=SHIFTS` pledges a party's units (the pledge that meets the last need confirms "
            "it); `decline ID --country ISO3`, `withdraw ID` and `cancel ID --reason TEXT` end "
            "it; `seed` proposes the resources' candidate operations for --periods (default: "
            "the next period); `value ID --country ISO3` says what pledging is worth to that "
            "party (its plans with and without its pledge, on its own view, with the champion). "
            "Each step is in the audit trail and the parties' alerts."
        ),
    )
    p.add_argument("action", choices=_ACTIONS)
    p.add_argument("id", nargs="?", help="the operation (show, pledge, decline, withdraw, cancel)")
    p.add_argument("--status", choices=_STATUSES, help="list: only the operations in it")
    p.add_argument("--regions", type=_items, help="propose: region ids, comma-separated")
    p.add_argument(
        "--periods", type=_dates, help="propose, seed: period starts, YYYY-MM-DD, comma-separated"
    )
    p.add_argument(
        "--need",
        action="append",
        default=[],
        help="propose: a party's shifts per period, ISO3=N; a part from one agency's units, "
        "'ISO3/AGENCY=N' (repeat for each)",
    )
    p.add_argument("--multiplier", type=float, default=1.0, help="propose: effort multiplier")
    p.add_argument(
        "--deadline",
        type=_moment,
        help="propose, seed: when it expires unconfirmed (ISO 8601; UTC without an offset)",
    )
    p.add_argument("--operation-id", help="propose: its id (default: the next JO-n)")
    p.add_argument(
        "--unit",
        action="append",
        default=[],
        help="pledge: UNIT=SHIFTS in every period, or UNIT@YYYY-MM-DD=SHIFTS (repeat)",
    )
    p.add_argument("--country", help="pledge, decline, value: the party country (ISO3)")
    p.add_argument(
        "--agency", help="value: plan the units of this agency of --country only (default: all)"
    )
    p.add_argument("--reason", help="decline, withdraw, cancel: why (cancel needs one)")
    p.add_argument("--json", type=output_path, help="write the operation(s) as JSON")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    needs_id = args.action in ("show", "value", "pledge", "decline", "withdraw", "cancel")
    if needs_id and not args.id:
        raise ConfigurationError(
            f"`crossplan operations {args.action}` needs the operation's ID — fix: "
            "`crossplan operations list` shows them"
        )
    db = Database.connect()
    actor = Actor(f"cli:{getpass.getuser()}")
    now = utcnow()
    posts = posts_for(db)
    expire_due(db, now=now, posts=posts)
    if args.action == "list":
        found = list_operations(db, None, status=args.status, now=now)
        _write(args, {"operations": [o.to_dict(now, None) for o in found]})
        _print_list(found, now)
        return 0
    if args.action == "show":
        operation = get_operation(db, None, args.id)
        _write(args, operation.to_dict(now, None))
        _print_one(operation, now)
        return 0
    if args.action == "seed":
        return _seed(args, db, actor, now, posts)
    if args.action == "value":
        return _value(args, db)
    done = _act(args, db, actor, now, posts)
    _write(args, done.operation.to_dict(now, None))
    steps = ", ".join(s.kind for s in done.steps)
    print(f"{done.operation.operation_id}: {steps}; now {done.operation.status(now)}",
          file=sys.stderr)  # fmt: skip
    return 0


def _act(
    args: argparse.Namespace, db: Database, actor: Actor, now: datetime, posts: Posts
) -> Outcome:
    """The step asked, with its alerts' posts owed in its transaction (the service's outbox
    sends them, now or when a service starts)."""
    if args.action == "propose":
        if not args.regions or not args.periods or not args.need:
            raise ConfigurationError(
                "propose needs --regions, --periods and a --need per party — fix: e.g. "
                "`crossplan operations propose --regions r002,r006 --periods 2026-03-09 "
                "--need GRC=4 --need MKD=4`"
            )
        proposal = Proposal(
            regions=tuple(args.regions), periods=tuple(args.periods), needs=_needs(args.need),
            effort_multiplier=args.multiplier, deadline=args.deadline,
            operation_id=args.operation_id,
        )  # fmt: skip
        return propose(db, load_panel(db).dataset, actor, proposal, now=now, posts=posts)
    if args.action == "pledge":
        units = _units(args.unit)
        return pledge(db, load_panel(db).dataset, actor, args.id, units, party=args.country,
                      now=now, posts=posts)  # fmt: skip
    if args.action == "decline":
        if not args.country:
            raise ConfigurationError("decline needs --country: the party that declines")
        return decline(db, actor, args.id, reason=args.reason, party=args.country, now=now,
                       posts=posts)  # fmt: skip
    if args.action == "withdraw":
        return withdraw(db, actor, args.id, reason=args.reason, now=now, posts=posts)
    if not args.reason:
        raise ConfigurationError("cancel needs --reason TEXT: why it is called off")
    return cancel(db, actor, args.id, reason=args.reason, now=now, posts=posts)


def _seed(args: argparse.Namespace, db: Database, actor: Actor, now: datetime, posts: Posts) -> int:
    dataset = load_panel(db).dataset
    periods = args.periods or [next_period(dataset.frequency, now)]
    seeded = seed_operations(db, dataset, periods, actor=actor, deadline=args.deadline, now=now,
                             posts=posts)  # fmt: skip
    _write(args, {"seeded": [s.to_dict() for s in seeded]})
    if not seeded:
        console.print("the resources name no joint operation to seed")
    for s in seeded:
        console.print(f"{s.candidate} → {s.operation_id}: {s.outcome}"
                      + (f" ({s.message})" if s.message else ""))  # fmt: skip
    return 0


def _value(args: argparse.Namespace, db: Database) -> int:
    """What pledging is worth to ``--country`` (:func:`pipelines.pledge_value.pledge_value`),
    as ``GET /operations/{id}/value`` answers a key of that country."""
    from crossplan.optimize.command import Command
    from crossplan.pipelines.forecasting import champion_forecast
    from crossplan.pipelines.pledge_value import horizon_through, pledge_value
    from crossplan.serving.settings import Settings
    from crossplan.serving.sharing import Audience, SharingPolicy

    if not args.country:
        raise ConfigurationError("value needs --country ISO3: the party whose pledge is weighed")
    operation = get_operation(db, args.country, args.id)
    settings = Settings.from_env()
    policy = SharingPolicy(
        load_panel(db), Audience(args.country, args.agency), settings.suppress_below,
        settings.min_total,
    )  # fmt: skip
    dataset = policy.dataset()
    horizon = horizon_through(dataset, max(operation.periods))
    if horizon < 1:
        raise ConfigurationError(f"{args.id} runs in periods the panel has passed")
    model = champion_forecast(dataset, horizon)
    if args.agency:
        command = Command(country=args.country, agency=args.agency)
    else:
        command = Command(country=args.country, scope="national")
    value = pledge_value(operation, confirmed_operations(db), dataset, model.table, command)
    _write(args, value.to_dict())
    console.print(f"{value.operation_id} for {value.country}: {value.advice}. {value.reason}")
    for s in value.suggested_pledge:
        shifts = ", ".join(f"{n} in {p}" for p, n in s["shifts"].items())  # type: ignore[attr-defined]
        console.print(f"  suggested: {s['unit_id']}: {shifts}")
    return 0


def _write(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    if args.json:
        write_json(args.json, payload)


def _print_list(found: list[OperationRecord], now: datetime) -> None:
    if not found:
        console.print("no joint operations")
        return
    table = Table(title="Joint operations, newest first", title_justify="left")
    for name in ("id", "status", "parties", "regions", "periods", "deadline", "proposed by"):
        table.add_column(name)
    for o in found:
        table.add_row(
            o.operation_id, o.status(now), " ".join(o.parties), " ".join(o.regions),
            " ".join(o.periods), f"{o.deadline:%Y-%m-%d %H:%M}", o.country or o.key_name,
        )  # fmt: skip
    console.print(table)


def _print_one(operation: OperationRecord, now: datetime) -> None:
    shown = operation.to_dict(now, None)
    console.print(
        f"[bold]{operation.operation_id}[/bold] {shown['status']}: regions "
        f"{', '.join(operation.regions)}; periods {', '.join(operation.periods)}; effort "
        f"×{operation.effort_multiplier}; deadline {shown['deadline']}"
    )
    for party in shown["parties"]:
        lacks = "; lacks " + ", ".join(party["lacks"]) if party["lacks"] else ""
        console.print(f"  {party['country']}: needs {party['need']['shifts']} a period, "
                      f"{party['answer']}{lacks}")  # fmt: skip
    table = Table(title="Steps", title_justify="left")
    for name in ("seq", "at", "kind", "by", "party", "shifts", "reason"):
        table.add_column(name)
    for e in shown["events"]:
        by = e["by"]
        table.add_row(
            str(e["seq"]), e["at"], e["kind"], f"{by['key']} ({by['country'] or 'operator'})",
            e["party"] or "-", str(e["shifts"] or "-"), e["reason"] or "-",
        )  # fmt: skip
    console.print(table)


def _needs(given: list[str]) -> dict[str, Need]:
    totals: dict[str, int] = {}
    parts: dict[str, dict[str, int]] = {}
    for text in given:
        found = _NEED.match(text)
        if found is None:
            raise ConfigurationError(f"--need {text!r} is not ISO3=N or ISO3/AGENCY=N — fix: "
                                     "e.g. --need GRC=4 --need 'GRC/Coast Guard=2'")  # fmt: skip
        country, agency, shifts = found.group(1), found.group(2), int(found.group(3))
        if agency is None:
            totals[country] = shifts
        else:
            parts.setdefault(country, {})[agency] = shifts
    missing = sorted(set(parts) - set(totals))
    if missing:
        raise ConfigurationError(f"--need gives parts of {', '.join(missing)} but not its "
                                 f"shifts in all — fix: add --need {missing[0]}=N")  # fmt: skip
    return {c: Need(n, parts.get(c, {})) for c, n in totals.items()}


def _units(given: list[str]) -> list[UnitPledge]:
    if not given:
        raise ConfigurationError("pledge needs --unit UNIT=SHIFTS (repeat for each unit)")
    every: dict[str, int] = {}
    by_period: dict[str, dict[date, int]] = {}
    for text in given:
        found = _UNIT.match(text)
        if found is None:
            raise ConfigurationError(f"--unit {text!r} is not UNIT=SHIFTS or "
                                     "UNIT@YYYY-MM-DD=SHIFTS — fix: e.g. --unit GRC-BP-01=4")  # fmt: skip
        unit, day, shifts = found.group(1), found.group(2), int(found.group(3))
        if day is None:
            every[unit] = shifts
            continue
        try:
            by_period.setdefault(unit, {})[date.fromisoformat(day)] = shifts
        except ValueError:
            raise ConfigurationError(
                f"--unit {text!r}: {day} is no date — fix: YYYY-MM-DD"
            ) from None
    both = sorted(set(every) & set(by_period))
    if both:
        raise ConfigurationError(f"--unit gives {both[0]} for every period and per period — "
                                 "fix: give one or the other")  # fmt: skip
    return [UnitPledge(u, s) for u, s in every.items()] + [
        UnitPledge(u, s) for u, s in by_period.items()
    ]


def _items(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one, comma-separated")
    return items


def _dates(text: str) -> list[date]:
    try:
        return [date.fromisoformat(t) for t in _items(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not dates YYYY-MM-DD, comma-separated"
        ) from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
