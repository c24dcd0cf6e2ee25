"""What a shared panel asks of a submission beyond the data contract.

The contract (:func:`pipelines.contract.incidents.check_incidents`) says whether rows make a
panel; these checks say whether they fit *this* panel (:class:`~pipelines.database.shape.
PanelShape`): the submitter's own country, periods that have started and are periods of the
panel, the panel's kind of counts, covariates and categories (a new category only with an
administrator's key; a variant spelling of one the panel has, never), and a ``source`` that
is the submitting agency. Every problem is located (file, row, column) and says the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd

from crossplan.optimize.periods import fits_frequency, period_start
from crossplan.pipelines.contract._problems import MAX_ROWS_PER_PROBLEM
from crossplan.pipelines.contract.incidents import DEFAULT_CATEGORY, parse_periods
from crossplan.pipelines.contract.spelling import ALIKE, SUGGEST, closest
from crossplan.pipelines.database.shape import PanelShape
from crossplan.pipelines.errors import Problem

__all__ = [
    "RowOf",
    "category_problems",
    "column_problems",
    "covariate_flags",
    "empty_row_problems",
    "ownership_problems",
    "period_problems",
    "source_problems",
]

#: Where a row of a submission is, as its sender finds it (a line, a row, ``rows[3]``).
RowOf = Callable[[int], "int | str"]
_SPLIT = ("reported", "detected", "effort")


def _capped(problems: list[Problem], what: str) -> list[Problem]:
    """At most :data:`MAX_ROWS_PER_PROBLEM` rows of one problem, then a count of the rest."""
    if len(problems) <= MAX_ROWS_PER_PROBLEM:
        return problems
    first = problems[0]
    more = len(problems) - MAX_ROWS_PER_PROBLEM
    rest = Problem(first.file, f"{more} more rows {what}", first.fix, None, first.column)
    return [*problems[:MAX_ROWS_PER_PROBLEM], rest]


def ownership_problems(
    raw: pd.DataFrame, file: str, row_of: RowOf, shape: PanelShape, country: str | None
) -> list[Problem]:
    """Rows for regions of another country than the submitter's (``None``: any country)."""
    frame = raw.reset_index(drop=True)
    if country is None or "region_id" not in frame.columns:
        return []
    regions = shape.regions.table
    country_of = dict(zip(regions["region_id"], regions["country"], strict=True))
    foreign: list[Problem] = []
    for i, rid in frame["region_id"].astype("string").str.strip().items():
        theirs = country_of.get(str(rid)) if pd.notna(rid) else None
        if theirs is not None and theirs != country:
            foreign.append(
                Problem(
                    file,
                    f"region '{rid}' is in {theirs}: a key of {country} submits {country}'s "
                    "regions only",
                    f"remove the row; {theirs}'s agencies submit their own data",
                    row_of(int(i)),
                    "region_id",
                )
            )
    return _capped(foreign, "for another country's regions")


def period_problems(
    raw: pd.DataFrame,
    file: str,
    row_of: RowOf,
    frequency: str,
    now: datetime | None,
    first: pd.Timestamp | None = None,
) -> list[Problem]:
    """Periods in the future (when ``now`` is given), before the panel's ``first`` period
    (when given: a backfill is an administrator's), or not starting a period of the panel.

    Periods that are no dates, or have a time-zone offset, are the contract's to report.
    """
    frame = raw.reset_index(drop=True)
    if "period" not in frame.columns:
        return []
    period, _ = parse_periods(frame["period"])
    known = period.notna()
    future: list[Problem] = []
    if now is not None:
        current = period_start(pd.Timestamp(now), frequency)
        for i, value in period[known & (period > current)].items():
            future.append(
                Problem(
                    file,
                    f"period {value:%Y-%m-%d} is in the future (the current {frequency} "
                    f"period starts {current:%Y-%m-%d})",
                    "send periods that have started; correct the date if it is a typo",
                    row_of(int(i)),
                    "period",
                )
            )
    past: list[Problem] = []
    if first is not None:
        for i, value in period[known & (period < first)].items():
            past.append(
                Problem(
                    file,
                    f"period {value:%Y-%m-%d} is before the shared panel's first period "
                    f"({first:%Y-%m-%d})",
                    "correct the date if it is a typo; history older than the panel is "
                    "added by an administrator (a backfill with an admin key)",
                    row_of(int(i)),
                    "period",
                )
            )
    misfit = known & ~fits_frequency(period.where(known, pd.Timestamp("2001-01-01")), frequency)
    misfits = [
        Problem(
            file,
            f"period {value:%Y-%m-%d} does not start a {frequency} period of the panel",
            "date each row by the start of its period, as the shared panel does",
            row_of(int(i)),
            "period",
        )
        for i, value in period[misfit].items()
    ]
    return (
        _capped(future, "in the future")
        + _capped(past, "before the panel's first period")
        + _capped(misfits, "off the panel's periods")
    )


def empty_row_problems(raw: pd.DataFrame, file: str, row_of: RowOf) -> list[Problem]:
    """Rows with no value at all: no count, no effort, no covariate (they would store a cell
    that says nothing, and an empty version is how a revert withdraws a cell)."""
    frame = raw.reset_index(drop=True)
    values = [c for c in frame.columns if c in (*_SPLIT, "count") or str(c).startswith("cov_")]
    if not values:
        return []
    text = frame[values].astype("string").apply(lambda c: c.str.strip())
    empty = (text.isna() | (text == "")).all(axis=1)
    located = [
        Problem(
            file,
            "the row has no value: every count, effort and covariate is empty",
            "give the row's values, or remove it (a cell sent in error is reverted by an "
            "administrator: crossplan submissions revert)",
            row_of(int(i)),
            values[0],
        )
        for i in frame.index[empty.to_numpy()]
    ]
    return _capped(located, "with no value")


def column_problems(
    columns: pd.Index, file: str, shape: PanelShape, *, new_covariates: bool
) -> list[Problem]:
    """Count columns of another kind than the panel's; covariates the panel does not have."""
    names = [str(c) for c in columns]
    problems: list[Problem] = []
    if shape.has_effort and "count" in names:
        problems.append(
            Problem(
                file,
                "the shared panel records reported, detected and effort; this file has a "
                "single 'count'",
                "send 'reported', 'detected' and 'effort' columns instead of 'count', as the "
                "panel does",
                None,
                "count",
            )
        )
    split = [c for c in _SPLIT if c in names]
    if not shape.has_effort and split:
        problems.append(
            Problem(
                file,
                "the shared panel records a single count (effort unknown); this file has "
                + ", ".join(f"'{c}'" for c in split),
                "send one 'count' column (reported + detected) instead, as the panel does",
                None,
                split[0],
            )
        )
    if not new_covariates:
        has = ", ".join(sorted(shape.covariates)) or "none"
        for name in names:
            if name.startswith("cov_") and name not in shape.covariates:
                meant = closest(name, shape.covariates, SUGGEST)
                fix = (
                    f"rename it '{meant}', as the shared panel does"
                    if meant is not None
                    else "remove the column; a new covariate comes with the operator's "
                    "`crossplan import` and a retraining"
                )
                guess = "" if meant is None else f" — did you mean '{meant}'?"
                problems.append(
                    Problem(
                        file,
                        f"covariate '{name}' is not a column of the shared panel (its "
                        f"covariates: {has}){guess}",
                        fix,
                        None,
                        name,
                    )
                )
    return problems


def category_problems(
    raw: pd.DataFrame, file: str, row_of: RowOf, shape: PanelShape, *, new_categories: bool
) -> list[Problem]:
    """Categories spelled as variants of the panel's, and (unless allowed) new ones."""
    frame = raw.reset_index(drop=True)
    known = sorted(shape.categories)
    listed = ", ".join(known)
    if "category" not in frame.columns:
        if new_categories or DEFAULT_CATEGORY in shape.categories:
            return []
        return [
            Problem(
                file,
                f"no 'category' column: every row would be in category '{DEFAULT_CATEGORY}', "
                f"which the shared panel does not have (its categories: {listed})",
                f"add a 'category' column with one of: {listed}",
                None,
                "category",
            )
        ]
    values = frame["category"].astype("string").str.strip()
    problems: list[Problem] = []
    for name in sorted(set(values.dropna()) - shape.categories - {""}):
        rows = values.index[values == name]
        same = closest(name, known, ALIKE)
        if same is not None:
            message = f"category '{name}' is a variant of the shared panel's '{same}'"
            fix = f"write '{same}', as the shared panel does"
        elif new_categories:
            continue
        else:
            message = f"category '{name}' is not in the shared panel (its categories: {listed})"
            fix = (
                "use one of the panel's categories; a new category needs an administrator's "
                "key, and a retraining before forecasts cover it"
            )
        located = [Problem(file, message, fix, row_of(int(i)), "category") for i in rows]
        problems += _capped(located, f"in category '{name}'")
    return problems


def source_problems(
    raw: pd.DataFrame, file: str, row_of: RowOf, agency: str | None
) -> list[Problem]:
    """Rows whose ``source`` is not the submitting agency (the stored source is the agency)."""
    frame = raw.reset_index(drop=True)
    if "source" not in frame.columns:
        return []
    given = frame["source"].astype("string").str.strip()
    wrong = given.notna() & (given != "") & (given != (agency or ""))
    if agency is None:
        message = "source '{}' given, but this key belongs to no agency"
        fix = "leave the 'source' column out, or submit with the key of that agency"
    else:
        message = f"source '{{}}' is not this key's agency ('{agency}')"
        fix = f"leave the 'source' column out (rows are stored as {agency}'s), or write '{agency}'"
    located = [
        Problem(file, message.format(value), fix, row_of(int(i)), "source")
        for i, value in given[wrong].items()
    ]
    return _capped(located, "with another agency as the source")


def covariate_flags(raw: pd.DataFrame, row_of: RowOf, seen: pd.DataFrame) -> list[str]:
    """Warnings for covariate values outside the range of ``seen`` (the panel's values):
    accepted, since a covariate may move, but worth a second look, as forecasts extrapolate
    there."""
    frame = raw.reset_index(drop=True)
    flags: list[str] = []
    for column in (c for c in frame.columns if str(c).startswith("cov_") and c in seen.columns):
        known = pd.to_numeric(seen[column], errors="coerce").dropna()
        if known.empty:
            continue
        low, high = float(known.min()), float(known.max())
        values = pd.to_numeric(frame[column], errors="coerce")
        outside = values[(values < low) | (values > high)]
        if outside.empty:
            continue
        i, value = next(iter(outside.items()))
        flags.append(
            f"{column}: {len(outside)} value(s) outside the range the panel has seen "
            f"({low:g} to {high:g}), e.g. {value:g} at {row_of(int(i))} — check them: "
            "forecasts extrapolate there"
        )
    return flags
