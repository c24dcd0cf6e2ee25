"""The printable tasking of a plan: one section per unit, a table per period.

The page loads nothing from anywhere else. Served over HTTP it links the service's own
stylesheet (``/web/tasking.css``: the Content-Security-Policy allows no inline style); written
to a file by the command line it carries the same stylesheet inline, so that it prints
offline. Printed, each unit after the first starts a new page, and each unit's section names
the plan again, so a page handed to a crew says which plan it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from itertools import groupby
from typing import Any

from crossplan.serving.page import WEB_DIR
from crossplan.serving.tasking import TaskingRow

__all__ = ["STYLESHEET", "tasking_html"]

STYLESHEET = "/web/tasking.css"


def tasking_html(
    plan: Mapping[str, Any],
    rows: Sequence[TaskingRow],
    *,
    requester: str | None = None,
    inline_style: bool = False,
) -> str:
    """The printable page of ``rows`` (:func:`serving.tasking.tasking_rows` of ``plan``).

    Parameters
    ----------
    plan
        The plan body the rows were read from (its id, periods, planner, time).
    rows
        The taskings, by unit, period and region.
    requester
        The name of the key that asked for the plan, when known.
    inline_style
        Carry the stylesheet in the page (a file) instead of linking the service's.
    """
    plan_id = str(plan.get("plan_id") or "")
    periods = [str(p) for p in plan.get("periods", ())]
    if inline_style:
        style = f"<style>\n{(WEB_DIR / 'tasking.css').read_text()}</style>"
    else:
        style = f'<link rel="stylesheet" href="{STYLESHEET}">'
    sections = [
        _unit(list(unit_rows), periods, plan_id)
        for _, unit_rows in groupby(rows, key=lambda r: r.unit_id)
    ]
    if not sections:
        sections = ['<p class="none">No unit of this plan has shifts that you may read.</p>']
    title = f"Taskings of plan {plan_id[:8]}" if plan_id else "Taskings"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            style,
            "</head>",
            '<body class="tasking">',
            _header(plan, plan_id, periods, requester),
            "<main>",
            *sections,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _header(
    plan: Mapping[str, Any], plan_id: str, periods: list[str], requester: str | None
) -> str:
    made = str(plan.get("created_at") or "").replace("T", " ")[:19]
    facts = [
        ("Plan", f"<code>{escape(plan_id or 'not stored')}</code>"),
        ("Planned by", escape(_planner(plan.get("command") or {}))),
        *([("Requested by", escape(requester))] if requester else []),
        ("Made", escape(made + " UTC" if made else "unknown")),
        ("Periods", escape(", ".join(periods))),
        ("Status", escape(str(plan.get("status", "")))),
    ]
    binding = (
        "Binding on the units it assigns."
        if plan.get("binding")
        else "A central proposal: it binds no agency."
    )
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return (
        f'<header class="tasking-header"><h1>Taskings</h1><dl>{items}</dl>'
        f'<p class="note">{binding}</p></header>'
    )


def _planner(command: Mapping[str, Any]) -> str:
    """Who planned, in words, as the plan's summary says it (``Command.planner``)."""
    country, agency = command.get("country"), command.get("agency")
    if not country:
        return "the operator"
    if command.get("scope") == "national" or not agency:
        return f"{country} (every unit of the country)"
    return f"{country} {agency}"


def _unit(rows: list[TaskingRow], periods: list[str], plan_id: str) -> str:
    first = rows[0]
    unit = escape(first.unit_id)
    total = sum(r.shifts for r in rows)
    by_period = {p: list(rs) for p, rs in groupby(rows, key=lambda r: r.period)}
    tables = [_period(period, by_period.get(period, [])) for period in periods]
    # A period the plan does not list (none should) still shows.
    tables += [_period(p, rs) for p, rs in by_period.items() if p not in periods]
    meta = (
        f"{escape(first.agency)} · {escape(first.country)} · {total} shifts in all · "
        f"plan <code>{escape(plan_id[:8])}</code>"
    )
    return (
        f'<section class="unit" data-unit-id="{unit}" aria-labelledby="unit-{unit}">'
        f'<h2 id="unit-{unit}">{unit}</h2><p class="unit-meta">{meta}</p>'
        + "".join(tables)
        + "</section>"
    )


def _period(period: str, rows: list[TaskingRow]) -> str:
    head = (
        '<thead><tr><th scope="col">Region</th><th scope="col">Name</th>'
        '<th scope="col" class="shifts">Shifts</th><th scope="col">Joint operation</th></tr></thead>'
    )
    if rows:
        body = "".join(
            f"<tr><td>{escape(r.region_id)}</td><td>{escape(r.region_name)}</td>"
            f'<td class="shifts">{r.shifts}</td><td>{escape(r.joint_operation)}</td></tr>'
            for r in rows
        )
    else:
        body = '<tr><td colspan="4" class="none">No shifts in this period.</td></tr>'
    return (
        f'<table class="period" data-period="{escape(period)}">'
        f"<caption>Period starting {escape(period)}</caption>{head}<tbody>{body}</tbody></table>"
    )
