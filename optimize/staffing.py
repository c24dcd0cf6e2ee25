"""Which joint operations a plan can staff, and why an operation is not launched.

A joint operation is an option, never an obligation: launched, it needs
``min_shifts_per_country`` shifts inside its regions from every party. A party's shifts
are those of its units the plan commands (:class:`~optimize.command.Command`) that may
work there, and what it has already committed (fixed effort). When some party cannot
reach the minimum in a period, the operation is simply not launched in it — the model has
no launch variable for it, so it cannot make a plan infeasible — and the plan says why,
per operation and period. The reasons are written for the planner: a party this plan
does not command is told apart from a party that has no unit within reach. An operation its
parties confirmed for a period (:attr:`~optimize.inputs.Inputs.forced`) is staffed by their
pledges: it is launched there, whatever this plan's units could add; with
``confirmed_only`` (a party's plan where operations are agreed), nothing else is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from crossplan.optimize.command import Command, FixedTable
from crossplan.optimize.resources import JointOperation, Unit

__all__ = ["LAUNCHED", "NOT_LAUNCHED", "Staffing", "not_chosen_reason", "operation_staffing"]

LAUNCHED: Final = "launched"
NOT_LAUNCHED: Final = "not launched"


@dataclass(frozen=True, eq=False)
class Staffing:
    """Which operations can be staffed.

    Parameters
    ----------
    possible
        Boolean array (operations, periods): every party can reach its minimum.
    reasons
        ``(operation, period)`` → why it cannot, for those that cannot.
    """

    possible: np.ndarray
    reasons: Mapping[tuple[int, int], str]

    def candidates(self, period: int) -> list[int]:
        """The operations that may be launched in ``period``."""
        return np.flatnonzero(self.possible[:, period]).tolist()


def operation_staffing(
    units: Sequence[Unit],
    index: Mapping[str, int],
    ops: Sequence[JointOperation],
    command: Command,
    periods: Sequence[str],
    eligible: np.ndarray,
    fixed: FixedTable,
    forced: np.ndarray | None = None,
    confirmed_only: bool = False,
) -> Staffing:
    """Whether each party of each operation can staff it in each period, and why not.

    Parameters
    ----------
    units, index, ops, command
        The plan's units, its regions' positions, the candidate operations and who plans.
    periods
        The planned periods (ISO dates).
    eligible
        Boolean array (units, regions): where each unit may work in this plan.
    fixed
        The effort others have committed, as arrays.
    forced
        Boolean array (operations, periods): confirmed by its parties, so launched
        (:attr:`~optimize.inputs.Inputs.forced`); ``None``: none.
    confirmed_only
        Whether only confirmed operations may launch (a party's plan where operations are
        agreed).
    """
    n_t = len(periods)
    if forced is None:
        forced = np.zeros((len(ops), n_t), dtype=bool)
    possible = np.ones((len(ops), n_t), dtype=bool)
    reasons: dict[tuple[int, int], str] = {}
    cap = np.array([u.shifts_per_period for u in units], dtype=float)
    country = np.array([u.country for u in units], dtype=object)
    for j, op in enumerate(ops):
        party = command.country is None or command.country in op.countries
        if confirmed_only and party:
            possible[j] = False
            runs = [p for p, f in zip(periods, forced[j], strict=True) if f]
            for t, period in enumerate(periods):
                reasons[(j, t)] = (
                    f"its parties agreed it for {', '.join(runs)} only"
                    if runs
                    else (
                        f"not confirmed for {period}: a joint operation launches once every "
                        "party has pledged its need — fix: propose it (crossplan operations "
                        "propose, POST /operations) or answer its proposal"
                    )
                )
            continue
        if not party:
            # Launching it is its parties' decision, not this plan's.
            possible[j] = False
            parties = ", ".join(op.countries)
            for t in range(n_t):
                reasons[(j, t)] = f"{command.planner} is not party to it: {parties} plan it"
            continue
        if op.min_shifts_per_country <= 0:
            continue
        cols = sorted({index[r] for r in op.regions})
        reach = eligible[:, cols].any(axis=1)
        for t in range(n_t):
            mine, theirs = [], []
            for c in op.countries:
                own = float(cap[reach & (country == c)].sum())
                pledged = fixed.shifts_in(c, cols, t)
                if own + pledged >= op.min_shifts_per_country:
                    continue
                if command.covers(c) or c == command.country:
                    mine.append(_short(command, op, c, own, pledged))
                else:
                    theirs.append(
                        f"{c}'s part is pledged by {c}, which has {_pledged(op, pledged)}"
                    )
            if theirs:
                mine.append(f"{command.planner} plans its own units; " + "; ".join(theirs))
            if mine:
                possible[j, t] = False
                reasons[(j, t)] = "; ".join(mine)
    for j, t in zip(*np.nonzero(forced), strict=True):
        reasons.pop((int(j), int(t)), None)
    return Staffing(possible=possible | forced, reasons=reasons)


def _pledged(op: JointOperation, pledged: float) -> str:
    if not pledged:
        return "pledged none"
    return f"pledged {pledged:g} of the {op.min_shifts_per_country} shifts"


def _short(command: Command, op: JointOperation, c: str, own: float, pledged: float) -> str:
    """Why the part of ``c``, a country whose units this plan commands, is short."""
    need, name = op.min_shifts_per_country, op.operation_id
    if command.covers(c):
        if not own and not pledged:
            return f"{c} has no unit that may work in {name}'s regions"
        have = f"{c}'s units that may work in {name}'s regions have {own:g} shifts"
        if pledged:
            have += f" and {pledged:g} more are pledged"
        short = need - own - pledged
        return f"{have}, {short:g} short of the {need} it needs from each country"
    units = (
        f"which have {own:g} shifts in {name}'s regions"
        if own
        else f"none of which may work in {name}'s regions"
    )
    return (
        f"{command.planner} plans its own units, {units}; the rest of {c}'s {need} shifts is "
        f"pledged by {c}'s other agencies, which have {_pledged(op, pledged)}"
    )


def not_chosen_reason(
    staffing: Staffing, limit: int | None, launched: np.ndarray, j: int, t: int
) -> str | None:
    """Why operation ``j`` is not launched in period ``t`` of a plan (``launched``: its
    boolean array (operations, periods); ``limit``: the policy's most operations a period);
    ``None`` when it is."""
    if launched[j, t]:
        return None
    if not staffing.possible[j, t]:
        return staffing.reasons[(j, t)]
    if limit is not None and launched[:, t].sum() >= limit:
        return f"not chosen: the policy launches at most {limit} joint operation(s) per period"
    return "not chosen: the plan expects more interdictions with these shifts elsewhere"
