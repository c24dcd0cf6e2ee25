"""Inferring a panel's frequency from its period dates, and locating dates that break it.

The frequency rules themselves (which frequencies there are, which dates start a period, how
a period is stepped) are :mod:`optimize.periods`'; this module turns them into the data
contract's problems, with file, row and fix.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from crossplan.optimize.periods import FREQUENCIES, frequency_of, period_fits, start_of
from crossplan.pipelines.contract._problems import MAX_ROWS_PER_PROBLEM
from crossplan.pipelines.errors import Problem

__all__ = ["infer_frequency"]


def infer_frequency(
    period: pd.Series, file: str, row_of: Callable[[int], int | str]
) -> tuple[str, list[Problem]]:
    """The panel's frequency and one problem per row whose date does not fit it.

    The frequency is the coarsest one every date starts a period of
    (:func:`optimize.periods.frequency_of`), or else the one most rows fit; rows that fit
    another one are reported as mixed frequencies, the others as misaligned.
    """
    dates = period.dropna()
    if dates.empty:
        return "weekly", []
    frequency = frequency_of(dates)
    if frequency is not None:
        return frequency, []
    fits = period_fits(dates)
    midnight = dates.dt.normalize() == dates
    best = max(("weekly", "monthly"), key=lambda f: int(fits[f].sum()))
    problems: list[Problem] = []
    bad = dates[~fits[best]]
    for i, value in bad.head(MAX_ROWS_PER_PROBLEM).items():
        other = next((f for f in FREQUENCIES if f != best and bool(fits[f].loc[i])), None)
        if other is not None:
            message = f"mixed frequencies: {value:%Y-%m-%d} starts a {other.removesuffix('ly')} period but the file is {best}"
        elif not bool(midnight.loc[i]):
            message = f"period {value} has a time of day"
        else:
            message = f"misaligned period: {best} periods start on {start_of(best)}, {value:%Y-%m-%d} is a {value:%A}"
        problems.append(
            Problem(
                file,
                message,
                f"use one frequency per file; {best} periods are dated by their start, {start_of(best)}",
                row_of(int(i)),
                "period",
            )
        )
    if len(bad) > MAX_ROWS_PER_PROBLEM:
        problems.append(
            Problem(
                file,
                f"{len(bad) - MAX_ROWS_PER_PROBLEM} more periods that are not {best}",
                "use one frequency per file",
                None,
                "period",
            )
        )
    return best, problems
