"""Turning pandera failure cases into located :class:`~pipelines.errors.Problem` lists."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from crossplan.pipelines.errors import Problem

__all__ = ["MAX_ROWS_PER_PROBLEM", "problems_from_failures"]

# A file with a million bad rows should produce a readable list, not a million lines.
MAX_ROWS_PER_PROBLEM = 20


def problems_from_failures(
    failures: pd.DataFrame,
    file: str,
    row_of: Callable[[int], int | str],
    messages: Mapping[str, tuple[str, str]],
) -> list[Problem]:
    """One problem per failing row (up to a limit per column and check, then a summary).

    Parameters
    ----------
    failures
        ``SchemaErrors.failure_cases`` from a lazy pandera validation.
    file
        File name to report.
    row_of
        Maps a frame index to the row as the user sees it in the file.
    messages
        Check name → (message, fix). The message may use ``{value}``.
    """
    problems: list[Problem] = []
    failures = failures.copy()
    failures["check"] = failures["check"].astype(str)
    for (column, check), group in failures.groupby(["column", "check"], sort=False, dropna=False):
        message, fix = messages.get(
            str(check),
            (
                "fails check " + str(check).replace("{", "{{").replace("}", "}}"),
                "correct the value",
            ),
        )
        column_name = None if pd.isna(column) else str(column)
        rows = group[group["index"].notna()]
        if rows.empty:
            problems.append(
                Problem(
                    file,
                    message.format(value=group["failure_case"].iloc[0]),
                    fix,
                    None,
                    column_name,
                )
            )
            continue
        rows = rows.sort_values("index")
        for index, value in zip(
            rows["index"].iloc[:MAX_ROWS_PER_PROBLEM],
            rows["failure_case"].iloc[:MAX_ROWS_PER_PROBLEM],
            strict=True,
        ):
            problems.append(
                Problem(file, message.format(value=value), fix, row_of(int(index)), column_name)
            )
        if len(rows) > MAX_ROWS_PER_PROBLEM:
            more = len(rows) - MAX_ROWS_PER_PROBLEM
            problems.append(
                Problem(
                    file,
                    f"{more} more rows have the same problem ({message.format(value='…')})",
                    fix,
                    None,
                    column_name,
                )
            )
    return problems
