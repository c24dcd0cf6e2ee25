"""Reading and validating the incidents panel (CSV or Parquet, long format)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow

from crossplan.pipelines.contract._problems import MAX_ROWS_PER_PROBLEM
from crossplan.pipelines.contract.frequency import infer_frequency
from crossplan.pipelines.contract.personal import looks_personal
from crossplan.pipelines.contract.spelling import SUGGEST, closest
from crossplan.pipelines.contract.values import value_problems
from crossplan.pipelines.errors import DataValidationError, Problem

__all__ = [
    "COUNT_COLUMNS",
    "KEY",
    "Incidents",
    "check_incidents",
    "load_rows",
    "parse_periods",
    "read_incidents",
]

KEY = ("region_id", "period", "category")
COUNT_COLUMNS = ("reported", "detected", "count")
_KNOWN = ("region_id", "period", "category", "reported", "detected", "effort", "count", "source")
DEFAULT_CATEGORY = "all"
# Problems with these columns make row checks meaningless.
_STRUCTURAL = ("region_id", "period", "reported", "detected", "effort", "count")


@dataclass(frozen=True)
class Incidents:
    """A validated incidents panel.

    Attributes
    ----------
    table
        One row per (region_id, period, category), sorted; counts as nullable ``Int64``,
        ``effort`` and ``cov_*`` as ``float64``, ``period`` as ``datetime64``.
    frequency
        ``"weekly"``, ``"monthly"`` or ``"yearly"``.
    has_effort
        Whether the panel separates ``reported``/``detected`` and records ``effort``.
    """

    table: pd.DataFrame
    frequency: str
    has_effort: bool


def read_incidents(path: Path, region_ids: pd.Index | None = None) -> Incidents:
    """Read and validate an incidents panel.

    Parameters
    ----------
    path
        ``.csv`` or ``.parquet`` file.
    region_ids
        Known regions; rows naming another region are problems. ``None`` skips that check.

    Raises
    ------
    DataValidationError
        Listing every problem, each with its row as found in the file and its column.
    """
    raw, row_of = load_rows(path)
    return check_incidents(raw, path.name, row_of, region_ids)


def check_incidents(
    raw: pd.DataFrame,
    file: str,
    row_of: Callable[[int], int | str],
    region_ids: pd.Index | None = None,
) -> Incidents:
    """Validate an incidents panel already read into a frame (text or typed columns).

    Parameters
    ----------
    raw
        The rows as read, in file order.
    file
        Name of the file (or request part) in problems.
    row_of
        Maps a row's position to where the user finds it (a line, a row, ``rows[3]``).
    region_ids
        Known regions; rows naming another region are problems. ``None`` skips that check.

    Raises
    ------
    DataValidationError
        Listing every problem, each with its row and column.
    """
    problems = _check_columns(raw.columns, file)
    if any(p.column in _STRUCTURAL for p in problems):
        raise DataValidationError(problems)  # without these columns no row can be checked
    frame, row_problems = _coerce(
        raw.drop(columns=[p.column for p in problems if p.column in raw.columns]), file, row_of
    )
    problems += row_problems
    if frame.empty:
        raise DataValidationError(problems)
    problems += value_problems(frame, file, row_of)
    problems += _check_keys(frame, file, row_of, region_ids)
    frequency, freq_problems = infer_frequency(frame["period"], file, row_of)
    problems += freq_problems
    if problems:
        raise DataValidationError(problems)
    has_effort = "count" not in frame.columns
    for column in ("reported", "detected", "count"):
        if column in frame.columns:
            frame[column] = frame[column].round().astype("Int64")
    table = frame.sort_values(list(KEY), kind="stable", ignore_index=True)
    return Incidents(table, frequency, has_effort)


def load_rows(path: Path) -> tuple[pd.DataFrame, Callable[[int], int | str]]:
    """The rows of a CSV (as text) or Parquet file, and where each row is in the file."""
    file = path.name
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DataValidationError(
            [Problem(file, f"unsupported file type '{suffix}'", "give a .csv or .parquet file")]
        )
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            return frame, lambda i: i + 2  # line in the file; the header is line 1
        return pd.read_parquet(path), lambda i: i + 1
    except FileNotFoundError:
        raise DataValidationError(
            [Problem(file, f"file not found: {path}", "check the path")]
        ) from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(
            [Problem(file, "the file is empty", "give a header and at least one row")]
        ) from None
    except (
        pd.errors.ParserError,
        UnicodeDecodeError,
        pyarrow.ArrowException,
        OSError,
        ValueError,
    ) as err:
        raise DataValidationError(
            [
                Problem(
                    file,
                    f"cannot read the file ({str(err).splitlines()[0]})",
                    f"give a valid {suffix[1:]} file",
                )
            ]
        ) from None


def _check_columns(columns: pd.Index, file: str) -> list[Problem]:
    problems: list[Problem] = []
    names = [str(c) for c in columns]
    for dup in sorted({c for c in names if names.count(c) > 1}):
        problems.append(
            Problem(file, f"column '{dup}' appears more than once", "keep one of them", None, dup)
        )
    for column in names:
        if column in _KNOWN or column.startswith("cov_"):
            continue
        if looks_personal(column):
            problems.append(
                Problem(
                    file,
                    f"column '{column}' looks like data about people",
                    "remove it: crossplan takes aggregate counts about areas only",
                    None,
                    column,
                )
            )
        else:
            problems.append(_unknown_column(file, column, names))
    for required in ("region_id", "period"):
        if required not in names:
            problems.append(
                Problem(
                    file,
                    f"required column '{required}' is missing",
                    f"add a '{required}' column",
                    None,
                    required,
                )
            )
    split = [c for c in ("reported", "detected", "effort") if c in names]
    if "count" in names and split:
        problems.append(
            Problem(
                file,
                f"both 'count' and {', '.join(repr(c) for c in split)} are present",
                "give either reported, detected and effort, or count alone",
                None,
                "count",
            )
        )
    elif "count" not in names and len(split) < 3:
        missing = [c for c in ("reported", "detected", "effort") if c not in names]
        problems.append(
            Problem(
                file,
                f"missing column(s) {', '.join(missing)}",
                "give reported, detected and effort, or a single 'count' column when effort is unknown",
                None,
                missing[0],
            )
        )
    return problems


def _unknown_column(file: str, column: str, names: list[str]) -> Problem:
    """An unknown column, with the known one it is a spelling of when there is one (and the
    file does not have that one already)."""
    meant = closest(column, [c for c in _KNOWN if c not in names], SUGGEST)
    if meant is None:
        return Problem(
            file,
            f"unknown column '{column}'",
            "remove it, or prefix a numeric covariate with 'cov_'",
            None,
            column,
        )
    return Problem(
        file,
        f"unknown column '{column}' — did you mean '{meant}'?",
        f"rename it '{meant}'; or remove it, or prefix a numeric covariate with 'cov_'",
        None,
        column,
    )


def _coerce(
    raw: pd.DataFrame, file: str, row_of: Callable[[int], int | str]
) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse text columns into numbers and dates, locating every cell that does not parse."""
    problems: list[Problem] = []
    frame = raw.reset_index(drop=True).copy()
    if frame.empty:
        return frame, [Problem(file, "the file has no rows", "add at least one row")]
    if "category" not in frame.columns:
        frame["category"] = DEFAULT_CATEGORY
    numeric = [
        c
        for c in frame.columns
        if c in ("reported", "detected", "effort", "count") or str(c).startswith("cov_")
    ]
    for column in numeric:
        parsed = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        bad = parsed.isna() & frame[column].notna()
        problems += _cells(
            file,
            row_of,
            column,
            frame.loc[bad, column],
            "not a number",
            "use a number, or leave the cell empty if unknown",
        )
        frame[column] = parsed
    parsed_period, offset = parse_periods(frame["period"])
    problems += _cells(
        file,
        row_of,
        "period",
        frame.loc[offset, "period"],
        "period {value} has a time-zone offset",
        "write the period's start date alone, as YYYY-MM-DD: a period is a calendar date",
    )
    bad = parsed_period.isna() & ~offset
    problems += _cells(
        file,
        row_of,
        "period",
        frame.loc[bad, "period"],
        "not a date",
        "write the period's start date as YYYY-MM-DD",
    )
    frame["period"] = parsed_period
    for column in ("region_id", "category", "source"):
        if column in frame.columns:
            missing = frame[column].isna() | (frame[column].astype("string").str.strip() == "")
            problems += _cells(
                file, row_of, column, frame.loc[missing, column], "empty", f"give a {column}"
            )
            frame[column] = frame[column].astype("string").str.strip().astype(object)
    return frame, problems


def parse_periods(period: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Period dates as ``datetime64[ns]`` (``NaT`` where not a date), and which had an offset.

    A date with a time-zone offset (``2024-03-04T00:00:00+02:00``) names an instant, not a
    calendar period: it is not parsed (``NaT``) and marked, so that it is reported as such.
    Typed date columns (Parquet) keep their wall-clock date.
    """
    if pd.api.types.is_datetime64_any_dtype(period):
        naive = period.dt.tz_localize(None) if getattr(period.dt, "tz", None) else period
        return naive.astype("datetime64[ns]"), pd.Series(False, index=period.index)
    text = period.astype("string").str.strip()
    offset = text.str.contains(_OFFSET, regex=True, na=False).astype(bool)
    try:
        parsed = pd.to_datetime(text.where(~offset), errors="coerce", format="ISO8601")
    except (ValueError, TypeError):  # offsets written some other way: one value at a time
        parsed = pd.Series([_one_date(v) for v in text.where(~offset)], index=period.index)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        offset |= parsed.notna()
        parsed = pd.Series(pd.NaT, index=period.index)
    elif parsed.dtype == object:
        aware = parsed.map(lambda v: getattr(v, "tzinfo", None) is not None).astype(bool)
        offset |= aware
        parsed = parsed.where(~aware, pd.NaT)
    return pd.to_datetime(parsed, errors="coerce").astype("datetime64[ns]"), offset


# A time of day followed by Z or ±HH[:MM]: an instant in some time zone.
_OFFSET = r"\d[T ]\d{1,2}(?::\d{2}){0,2}(?:[.,]\d+)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def _one_date(value: object) -> pd.Timestamp | None:
    if value is None or value is pd.NA:
        return None
    try:
        return pd.Timestamp(str(value))
    except (ValueError, TypeError, OverflowError):
        return None


def _check_keys(
    frame: pd.DataFrame,
    file: str,
    row_of: Callable[[int], int | str],
    region_ids: pd.Index | None,
) -> list[Problem]:
    problems: list[Problem] = []
    usable = frame[list(KEY)].notna().all(axis=1)
    keyed = frame.loc[usable, list(KEY)]
    dup = keyed.duplicated(keep="first")
    first_seen = keyed.drop_duplicates(keep="first").reset_index().set_index(list(KEY))["index"]
    for i, row in keyed[dup].head(MAX_ROWS_PER_PROBLEM).iterrows():
        first = first_seen.loc[tuple(row)]
        problems.append(
            Problem(
                file,
                f"duplicate row for region '{row['region_id']}', period {row['period']:%Y-%m-%d}, category '{row['category']}' (first at row {row_of(int(first))})",
                "keep one row per region, period and category (sum them if they are parts)",
                row_of(int(i)),
                "region_id",
            )
        )
    if dup.sum() > MAX_ROWS_PER_PROBLEM:
        problems.append(
            Problem(
                file,
                f"{int(dup.sum()) - MAX_ROWS_PER_PROBLEM} more duplicate rows",
                "keep one row per region, period and category",
            )
        )
    if region_ids is not None:
        unknown = usable & ~frame["region_id"].isin(region_ids)
        problems += _cells(
            file,
            row_of,
            "region_id",
            frame.loc[unknown, "region_id"],
            "unknown region '{value}'",
            "use a region_id of the regions file, or add that region there",
        )
    return problems


def _cells(
    file: str,
    row_of: Callable[[int], int | str],
    column: str,
    values: pd.Series,
    message: str,
    fix: str,
) -> list[Problem]:
    problems = [
        Problem(
            file,
            message.format(value=v) if "{value}" in message else f"{message}: {v!r}",
            fix,
            row_of(int(i)),
            column,
        )
        for i, v in values.head(MAX_ROWS_PER_PROBLEM).items()
    ]
    if len(values) > MAX_ROWS_PER_PROBLEM:
        problems.append(
            Problem(
                file,
                f"{len(values) - MAX_ROWS_PER_PROBLEM} more rows with the same problem",
                fix,
                None,
                column,
            )
        )
    return problems
