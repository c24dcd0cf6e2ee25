"""Periods and their frequencies: the calendar every layer dates its rows by.

A period is dated by its start (docs/design.md, "Data contract v1"): a weekly period starts
on a Monday, a monthly one on the first of a month, a yearly one on 1 January, each at
midnight. The forecast table, the models' arrays, the data contract's checks, the shared
database and the service's alerts all count periods so.

The rules live here, beside the forecast table's contract (:mod:`optimize.forecast`), because
this is the floor both the models and the data contract may import; the module needs pandas
only, so reading a panel costs neither the models' libraries nor the solvers.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "FREQUENCIES",
    "fits_frequency",
    "frequency_of",
    "future_periods",
    "pandas_freq",
    "period_fits",
    "period_offset",
    "period_range",
    "period_start",
    "periods_per_year",
    "season_length",
    "start_of",
]

#: From the finest to the coarsest.
FREQUENCIES = ("weekly", "monthly", "yearly")
_SEASON = {"weekly": 52, "monthly": 12, "yearly": 1}
_PER_YEAR = {"weekly": 365.25 / 7, "monthly": 12.0, "yearly": 1.0}
_PANDAS = {"weekly": "W-MON", "monthly": "MS", "yearly": "YS"}
_START_OF = {"weekly": "a Monday", "monthly": "the first day of a month", "yearly": "1 January"}


def season_length(frequency: str) -> int:
    """Periods per seasonal cycle: 52 for weekly, 12 for monthly, 1 (none) for yearly."""
    return _SEASON[frequency]


def periods_per_year(frequency: str) -> float:
    """Periods in a year: 52.18 weeks, 12 months or 1 year."""
    return _PER_YEAR[frequency]


def pandas_freq(frequency: str) -> str:
    """The pandas offset alias of a frequency (period start dates)."""
    return _PANDAS[frequency]


def start_of(frequency: str) -> str:
    """The day a period of ``frequency`` starts on, in words (``"a Monday"``)."""
    return _START_OF[frequency]


def period_offset(frequency: str, steps: int = 1) -> pd.DateOffset:
    """``steps`` periods of ``frequency``."""
    if frequency == "weekly":
        return pd.DateOffset(weeks=steps)
    if frequency == "monthly":
        return pd.DateOffset(months=steps)
    if frequency == "yearly":
        return pd.DateOffset(years=steps)
    raise KeyError(frequency)


def period_fits(dates: pd.Series) -> dict[str, pd.Series]:
    """Which frequencies each date starts a period of, one boolean series per frequency."""
    midnight = dates.dt.normalize() == dates
    first = midnight & (dates.dt.day == 1)
    return {
        "weekly": midnight & (dates.dt.day_of_week == 0),
        "monthly": first,
        "yearly": first & (dates.dt.month == 1),
    }


def fits_frequency(dates: pd.Series, frequency: str) -> pd.Series:
    """Whether each date starts a period of ``frequency`` (a Monday, a 1st, a 1 January)."""
    return period_fits(dates)[frequency]


def frequency_of(dates: pd.Series | pd.DatetimeIndex) -> str | None:
    """The coarsest frequency every date starts a period of, or ``None`` when none fits.

    Whole periods may be missing: a yearly panel without 2001 is still yearly.
    """
    fits = period_fits(pd.Series(pd.DatetimeIndex(dates).unique()))
    return next((freq for freq in reversed(FREQUENCIES) if fits[freq].all()), None)


def period_start(day: pd.Timestamp, frequency: str) -> pd.Timestamp:
    """The start of the period of ``frequency`` that contains ``day``."""
    day = day.normalize()
    if frequency == "weekly":
        return day - pd.Timedelta(days=day.day_of_week)
    if frequency == "monthly":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def future_periods(last: pd.Timestamp, frequency: str, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` period starts that follow ``last``."""
    return pd.DatetimeIndex([last + period_offset(frequency, h) for h in range(1, horizon + 1)])


def period_range(first: pd.Timestamp, last: pd.Timestamp, frequency: str) -> pd.DatetimeIndex:
    """Every period start from ``first`` to ``last``, both included."""
    return pd.date_range(first, last, freq=period_offset(frequency))
