"""Inferring a panel's frequency from its period dates, and locating dates that break it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pandas as pd

from crossplan.models.errors import PanelError
from crossplan.models.panel import FREQUENCIES, period_fits
from crossplan.models.panel import infer_frequency as panel_frequency
from crossplan.pipelines.contract._problems import MAX_ROWS_PER_PROBLEM
from crossplan.pipelines.errors import Problem

__all__ = [
    "FREQUENCIES",
    "fits_frequency",
    "infer_frequency",
    "pandas_freq",
    "period_offset",
    "period_start",
    "periods_per_year",
]

_START_OF = {
    "weekly": "a Monday",
    "monthly": "the first day of a month",
    "yearly": "1 January",
}


def infer_frequency(
    period: pd.Series, file: str, row_of: Callable[[int], int | str]
) -> tuple[str, list[Problem]]:
    """The panel's frequency and one problem per row whose date does not fit it.

    The frequency is the models' (:func:`models.panel.infer_frequency`: the coarsest one
    every date starts a period of), or else the one most rows fit; rows that fit another one
    are reported as mixed frequencies, the others as misaligned.
    """
    dates = period.dropna()
    if dates.empty:
        return "weekly", []
    with contextlib.suppress(PanelError):
        return panel_frequency(dates), []
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
            message = f"misaligned period: {best} periods start on {_START_OF[best]}, {value:%Y-%m-%d} is a {value:%A}"
        problems.append(
            Problem(
                file,
                message,
                f"use one frequency per file; {best} periods are dated by their start, {_START_OF[best]}",
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


def periods_per_year(frequency: str) -> float:
    """Periods in a year: 52.18 weeks, 12 months or 1 year."""
    return {"weekly": 365.25 / 7, "monthly": 12.0, "yearly": 1.0}[frequency]


def pandas_freq(frequency: str) -> str:
    """The pandas offset alias of a frequency (period start dates)."""
    return {"weekly": "W-MON", "monthly": "MS", "yearly": "YS"}[frequency]


def fits_frequency(dates: pd.Series, frequency: str) -> pd.Series:
    """Whether each date starts a period of ``frequency`` (a Monday, a 1st, a 1 January)."""
    midnight = dates.dt.normalize() == dates
    if frequency == "weekly":
        return midnight & (dates.dt.day_of_week == 0)
    first = midnight & (dates.dt.day == 1)
    return first & (dates.dt.month == 1) if frequency == "yearly" else first


def period_start(day: pd.Timestamp, frequency: str) -> pd.Timestamp:
    """The start of the period of ``frequency`` that contains ``day``."""
    day = day.normalize()
    if frequency == "weekly":
        return day - pd.Timedelta(days=day.day_of_week)
    if frequency == "monthly":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def period_offset(frequency: str) -> pd.DateOffset:
    """One period of ``frequency``."""
    return {
        "weekly": pd.DateOffset(weeks=1),
        "monthly": pd.DateOffset(months=1),
        "yearly": pd.DateOffset(years=1),
    }[frequency]
