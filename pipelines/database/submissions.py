"""Submissions: incident rows and data directories stored as new versions, all or nothing.

Every value arrives in a submission (who, which agency and country, when, the content's
fingerprint). A submission stores only the cells it changes: a cell not in the panel is
*new*, a cell whose values differ from its current version is *corrected* (a new version;
the old one stays), and a cell sent again with the same values is *unchanged* and not
stored again. Content sent again that changes nothing is recognised and stored once
(:mod:`pipelines.database.versions` says when content counts as sent again).

Validation is the data contract's (:func:`pipelines.contract.incidents.check_incidents`),
and then the shared panel's (:mod:`pipelines.database.checks`): a submission adds rows to
the panel and never changes what the panel is, so the panel always builds. Every act is in
the audit trail, written in the same transaction as what it records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.contract.dataset import find_incidents
from crossplan.pipelines.contract.incidents import check_incidents, load_rows
from crossplan.pipelines.database.audit import append_event
from crossplan.pipelines.database.checks import (
    RowOf,
    category_problems,
    column_problems,
    empty_row_problems,
    ownership_problems,
    period_problems,
    source_problems,
)
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.outbox import owe_alerts
from crossplan.pipelines.database.panel import _NO_PANEL, NoPanelError, build_panel, utcnow
from crossplan.pipelines.database.receipts import SubmissionRecord, list_submissions
from crossplan.pipelines.database.revert import RevertResult, revert_submission
from crossplan.pipelines.database.schema import Submission
from crossplan.pipelines.database.shape import PanelShape, panel_shape
from crossplan.pipelines.database.versions import (
    SubmissionCheck,
    SubmissionResult,
    Submitter,
    preview_cells,
    store_cells,
    store_document,
)
from crossplan.pipelines.errors import DataValidationError, PanelBuildError, Problem

__all__ = [
    "RevertResult",
    "SubmissionCheck",
    "SubmissionRecord",
    "SubmissionResult",
    "Submitter",
    "check_submission",
    "import_directory",
    "list_submissions",
    "revert_submission",
    "submit_incidents",
]


def submit_incidents(
    db: Database,
    raw: pd.DataFrame,
    *,
    file: str,
    row_of: RowOf,
    submitter: Submitter,
    now: Callable[[], datetime] = utcnow,
) -> SubmissionResult:
    """Validate and store incident rows, all or nothing, and record the act in the audit.

    Every stored row's ``source`` is the submitter's agency.

    Parameters
    ----------
    raw
        The rows as read (CSV text, Parquet, or JSON rows), in the order the user sent them.
    file, row_of
        Where problems are located: the file's name, and each row's place in it.
    submitter
        The key, agency and country it is sent for, and whether the key is an admin's.

    Raises
    ------
    DataValidationError
        Every problem: the contract's (counts, effort and covariates within what the models
        hold), and rows of another country's regions, future periods, periods before the
        panel's first (without an admin's key) or off the panel's frequency, rows with no
        value at all, count or covariate columns the panel does not
        have, a category it does not have (without an admin's key) or a variant spelling of
        one it has, a ``source`` other than the submitter's agency. Nothing is stored.
    NoPanelError
        The database holds no panel yet.
    """
    with db.read() as con:
        shape = _require(panel_shape(con))
    table = _checked(raw, file, row_of, submitter, shape, now())
    with db.write("submissions") as con:
        if _latest(con) != shape.last_submission:  # another submission came in meanwhile
            again = _fit_problems(raw, file, row_of, _require(panel_shape(con)), submitter)
            if again:
                raise DataValidationError(again)
        result = store_cells(con, "incidents", table, file, submitter, now)
        _audit_submission(con, submitter, result)
        if not result.duplicate:  # its alerts are owed from this commit on
            owe_alerts(con, result.submission_id)
    return result


def check_submission(
    db: Database,
    raw: pd.DataFrame,
    *,
    file: str,
    row_of: RowOf,
    submitter: Submitter,
    now: Callable[[], datetime] = utcnow,
) -> SubmissionCheck:
    """Every check of :func:`submit_incidents`, and what it would store, storing nothing (a
    dry run: no submission, no audit line, no alert).

    Raises
    ------
    DataValidationError
        The problems :func:`submit_incidents` would raise, the same ones.
    NoPanelError
        The database holds no panel yet.
    """
    with db.read() as con:
        shape = _require(panel_shape(con))
        table = _checked(raw, file, row_of, submitter, shape, now())
        return preview_cells(con, "incidents", table, file)


def _checked(
    raw: pd.DataFrame,
    file: str,
    row_of: RowOf,
    submitter: Submitter,
    shape: PanelShape,
    now: datetime,
) -> pd.DataFrame:
    """The table a submission stores, once the contract and the panel find no problem with
    it: the one place a submission is checked, whether it is stored or only checked."""
    first = None if submitter.admin else shape.first_period  # an admin may backfill
    problems = period_problems(raw, file, row_of, shape.frequency, now, first)
    problems = _fit_problems(raw, file, row_of, shape, submitter) + problems
    problems += empty_row_problems(raw, file, row_of)
    problems += source_problems(raw, file, row_of, submitter.agency)
    try:
        incidents = check_incidents(raw, file, row_of, shape.regions.ids)
    except DataValidationError as err:
        raise DataValidationError(err.problems + problems) from None
    if problems:
        raise DataValidationError(problems)
    table = incidents.table.drop(columns="source", errors="ignore")
    if submitter.agency is not None:
        table["source"] = submitter.agency
    return table


def import_directory(
    db: Database,
    data_dir: Path,
    submitter: Submitter,
    now: Callable[[], datetime] = utcnow,
    agencies: dict[str, str] | None = None,
) -> list[SubmissionResult]:
    """Load a data directory (validated whole) as submissions, all or nothing.

    Regions, resources and incidents are stored in one transaction, and only when the panel
    they make with what is stored builds. A file whose content is already current is
    recognised and not stored again. The operator's import may add categories and
    covariates; it may not change the panel's frequency or kind of counts, drop regions
    the panel has cells in, or spell a category another way. With an agency, the rows are
    stored as that agency's (a ``source`` column must name it).

    Parameters
    ----------
    agencies
        Country (ISO 3166-1 alpha-3) to agency: the rows of a country's regions are that
        agency's, one submission per country; other countries' rows are
        ``submitter.agency``'s (none: the operator's). An agency's own keys then read its
        rows as sent. A cell already stored with the same values keeps its owner (who sends
        a value is no change).

    Raises
    ------
    DataValidationError
        The directory breaks the data contract, does not fit the stored panel, or
        ``agencies`` names a country the regions do not have.
    """
    dataset = load_dataset(data_dir)  # every problem of every file, before anything is stored
    path = find_incidents(data_dir)
    raw, row_of = load_rows(path)
    owners = dict(agencies or {})
    country_of = dataset.regions.set_index("region_id")["country"]
    strangers = sorted(set(owners) - set(country_of))
    if strangers:
        raise DataValidationError(
            [
                Problem(
                    "agencies",
                    f"an agency is given for {c}, which has no region in regions.geojson",
                    "give agencies of the countries of the regions file (ISO3=NAME)",
                )
                for c in strangers
            ]
        )
    # Each row's owner: its country's agency, else the submitter's.
    row_country = dataset.incidents["region_id"].map(country_of)
    raw_country = raw["region_id"].astype(str).str.strip().map(country_of).reset_index(drop=True)
    parts = []
    for country in [None, *sorted(owners)]:
        if country is None:
            mine, raw_mine = ~row_country.isin(owners), ~raw_country.isin(owners)
            who = submitter
        else:
            mine, raw_mine = row_country == country, raw_country == country
            who = Submitter(submitter.key_name, owners[country], country, submitter.admin)
        table = dataset.incidents[mine.to_numpy()]
        if table.empty:
            continue
        if who.agency is not None:
            table = table.assign(source=who.agency)
        at = raw_mine[raw_mine].index.to_numpy()
        parts.append((who, table, raw.iloc[at], lambda i, at=at: row_of(int(at[i]))))
    documents = [("regions", data_dir / "regions.geojson")]
    if (data_dir / "resources.json").exists():
        documents.append(("resources", data_dir / "resources.json"))
    with db.write("submissions") as con:
        shape = panel_shape(con)
        if shape is not None:
            problems = _import_problems(raw, path.name, row_of, shape, dataset.regions)
            for who, _, rows, where in parts:
                if who.agency is not None:  # else the operator's rows keep their sources
                    problems += source_problems(rows, path.name, where, who.agency)
            if problems:
                raise DataValidationError(problems)
        results = [
            store_document(con, kind, doc.name, doc.read_text(encoding="utf-8"), submitter, now)
            for kind, doc in documents
        ]
        for who, table, _, _ in parts:
            results.append(store_cells(con, "incidents", table, path.name, who, now))
        _check_builds(con, results, path.name)
        detail: dict[str, Any] = {"data": str(data_dir)}
        detail["submissions"] = [_summary(r) for r in results]
        if owners:  # naming the countries: their administrators read the event
            detail["agencies"] = owners
        append_event(
            con,
            submitter.key_name,
            "import",
            actor_agency=submitter.agency,
            actor_country=submitter.country,
            **detail,
        )
    return results


def _require(shape: PanelShape | None) -> PanelShape:
    if shape is None:
        raise NoPanelError(_NO_PANEL)
    return shape


def _latest(con: Connection) -> int:
    return int(con.execute(sa.select(sa.func.max(Submission.id))).scalar() or 0)


def _fit_problems(
    raw: pd.DataFrame, file: str, row_of: RowOf, shape: PanelShape, submitter: Submitter
) -> list[Problem]:
    """A submission's problems with the panel's regions, columns and categories."""
    return (
        ownership_problems(raw, file, row_of, shape, submitter.country)
        + column_problems(raw.columns, file, shape, new_covariates=False)
        + category_problems(raw, file, row_of, shape, new_categories=submitter.admin)
    )


def _import_problems(
    raw: pd.DataFrame, file: str, row_of: RowOf, shape: PanelShape, regions: pd.DataFrame
) -> list[Problem]:
    """An import's problems with the stored panel (it may add categories and covariates)."""
    problems = period_problems(raw, file, row_of, shape.frequency, None)
    problems += column_problems(raw.columns, file, shape, new_covariates=True)
    problems += category_problems(raw, file, row_of, shape, new_categories=True)
    dropped = sorted(shape.regions_in_use - set(regions["region_id"].astype(str)))
    if dropped:
        shown = ", ".join(dropped[:10]) + (
            f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
        )
        problems.append(
            Problem(
                "regions.geojson",
                f"regions {shown} have cells in the shared panel but are not in this file",
                "keep every region of the shared panel in regions.geojson",
                None,
                "region_id",
            )
        )
    return problems


def _check_builds(con: Connection, results: list[SubmissionResult], file: str) -> None:
    """Refuse (and so roll back) an import after which the panel would not build."""
    last = max(r.submission_id for r in results)
    received = con.execute(sa.select(Submission.received_at).where(Submission.id == last))
    try:
        build_panel(con, received.scalar_one())
    except PanelBuildError as err:
        raise DataValidationError(
            [
                Problem(
                    file,
                    f"with this import, the shared panel would not build: {p.message}",
                    p.fix,
                )
                for p in err.problems
            ]
        ) from None


def _audit_submission(con: Connection, submitter: Submitter, result: SubmissionResult) -> None:
    append_event(
        con,
        submitter.key_name,
        "submission",
        actor_agency=submitter.agency,
        actor_country=submitter.country,
        **_summary(result),
    )


def _summary(result: SubmissionResult) -> dict[str, Any]:
    return {
        "submission_id": result.submission_id,
        "file": result.file,
        "rows": result.rows,
        "new": result.new,
        "corrected": result.corrected,
        "unchanged": result.unchanged,
        "duplicate": result.duplicate,
    }
