"""Submissions to the shared panel: they add rows and never change what the panel is.

Every case runs on SQLite and on PostgreSQL (``database_url``), on the tiny world imported
by the operator (``shared_db``); GRC's Border Police submits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import (
    Database,
    SubmissionResult,
    Submitter,
    audit_trail,
    import_directory,
    latest_submission,
    load_panel,
    submit_incidents,
)
from crossplan.pipelines.database.schema import CellVersion
from crossplan.pipelines.errors import DataValidationError, Problem

GRC = Submitter("grc-bp", "Border Police", "GRC")
ADMIN = Submitter("admin", admin=True)


def _week(dataset: Dataset, category: str = "trafficking_in_persons") -> pd.DataFrame:
    """The last week's GRC rows of a category, dated as text (as a CSV gives them)."""
    inc = dataset.incidents
    mine = dataset.regions.loc[dataset.regions["country"] == "GRC", "region_id"]
    last = (inc["period"] == inc["period"].max()) & (inc["category"] == category)
    rows = inc[last & inc["region_id"].isin(mine)].copy()
    rows["period"] = rows["period"].dt.strftime("%Y-%m-%d")
    return rows.reset_index(drop=True)


def _submit(db: Database, rows: pd.DataFrame, who: Submitter = GRC, **kw: Any) -> SubmissionResult:
    return submit_incidents(db, rows, file="w.csv", row_of=lambda i: i + 2, submitter=who, **kw)


def _refused(db: Database, rows: pd.DataFrame, who: Submitter = GRC) -> list[Problem]:
    before = latest_submission(db), len(audit_trail(db))
    with pytest.raises(DataValidationError) as info:
        _submit(db, rows, who)
    assert (latest_submission(db), len(audit_trail(db))) == before  # nothing written
    assert all(p.file == "w.csv" and p.fix for p in info.value.problems)
    return info.value.problems


def test_a_source_column_is_the_agency_and_the_panel_still_builds(shared_db: Database) -> None:
    rows = _week(load_panel(shared_db).dataset).head(2)
    rows["detected"] += 1
    rows["source"] = "Border Police"  # the documented column, naming the key's agency
    result = _submit(shared_db, rows)
    # Only two cells carry a source now: the panel must still build (it did not).
    panel = load_panel(shared_db)
    assert (panel.provenance["submission_id"] == result.submission_id).sum() == 2
    # rows sent without a source are stored with the key's agency as theirs too
    more = _week(panel.dataset).iloc[[3]].assign(detected=lambda f: f["detected"] + 1)
    later = _submit(shared_db, more)
    with shared_db.read() as con:
        sources = con.execute(
            sa.select(CellVersion.source).where(
                CellVersion.submission_id.in_([result.submission_id, later.submission_id])
            )
        ).scalars()
        assert set(sources) == {"Border Police"}
    load_panel(shared_db)


@pytest.mark.parametrize(
    ("source", "who", "message"),
    [
        # another agency's name
        ("Coast Guard", GRC, "is not this key's agency ('Border Police')"),
        # a key without an agency cannot vouch for one
        ("Border Police", Submitter("ops-grc", None, "GRC"), "belongs to no agency"),
    ],
)
def test_a_source_other_than_the_keys_agency_is_a_located_problem(
    shared_db: Database, source: str, who: Submitter, message: str
) -> None:
    rows = _week(load_panel(shared_db).dataset).head(2).assign(source=source)
    problems = _refused(shared_db, rows, who)
    assert [(p.row, p.column) for p in problems] == [(2, "source"), (3, "source")]
    assert message in problems[0].message


@pytest.mark.parametrize(
    ("category", "who", "message", "fix"),
    [
        # a case variant of an existing category, even from an admin
        ("Smuggling_Of_Migrants", GRC, "variant of the shared panel's 'smuggling_of_migrants'",
         "write 'smuggling_of_migrants'"),
        ("smuggling-of-migrants", ADMIN, "variant", "write 'smuggling_of_migrants'"),
        # a misspelling
        ("smugling_of_migrants", GRC, "variant", "write 'smuggling_of_migrants'"),
        # a new category needs an administrator's key
        ("firearms_trafficking", GRC, "is not in the shared panel", "administrator's key"),
    ],
)  # fmt: skip
def test_a_category_the_panel_does_not_have_is_refused(
    shared_db: Database, category: str, who: Submitter, message: str, fix: str
) -> None:
    rows = _week(load_panel(shared_db).dataset).head(3).assign(category=category)
    problems = _refused(shared_db, rows, who)
    assert [(p.row, p.column) for p in problems] == [(2, "category"), (3, "category"), (4, "category")]  # fmt: skip
    assert message in problems[0].message and fix in problems[0].fix


def test_an_admin_may_add_a_category(shared_db: Database) -> None:
    rows = _week(load_panel(shared_db).dataset).head(2).assign(category="firearms_trafficking")
    assert _submit(shared_db, rows, ADMIN).new == 2
    assert "firearms_trafficking" in load_panel(shared_db).dataset.categories


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        # a single count in a panel of reported, detected and effort
        (lambda f: f.drop(columns=["reported", "detected", "effort"]).assign(count=3), "count",
         "records reported, detected and effort"),
        # a covariate the panel does not have
        (lambda f: f.assign(cov_new_road=1.0), "cov_new_road", "not a column of the shared panel"),
    ],
)  # fmt: skip
def test_columns_of_another_kind_are_refused(
    shared_db: Database,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    column: str,
    message: str,
) -> None:
    rows = change(_week(load_panel(shared_db).dataset).head(2))
    problems = _refused(shared_db, rows)
    assert [(p.column, message in p.message) for p in problems] == [(column, True)]


@pytest.mark.parametrize(
    "period",
    [
        "2024-02-19T00:00:00+02:00",  # an offset
        "2024-02-19T00:00:00Z",  # UTC, said so
    ],
)
def test_a_period_with_a_time_zone_offset_is_a_located_problem(
    shared_db: Database, period: str
) -> None:
    rows = _week(load_panel(shared_db).dataset).head(2)
    rows.loc[1, "period"] = period
    problems = _refused(shared_db, rows)
    assert [(p.row, p.column) for p in problems] == [(3, "period")]
    assert "time-zone offset" in problems[0].message and "YYYY-MM-DD" in problems[0].fix


def test_one_bad_row_among_good_ones_stores_nothing(shared_db: Database) -> None:
    rows = _week(load_panel(shared_db).dataset).head(3)
    rows["detected"] += 1
    rows.loc[2, "category"] = "Smuggling_Of_Migrants"
    before = load_panel(shared_db).fingerprint
    assert [p.row for p in _refused(shared_db, rows)] == [4]
    assert load_panel(shared_db).fingerprint == before


def test_a_correction_back_to_an_earlier_value_is_a_new_version(
    shared_db: Database, clock: Callable[[], Any]
) -> None:
    original = _week(load_panel(shared_db).dataset).head(1)
    a = original.assign(detected=original["detected"] + 1)
    b = original.assign(detected=original["detected"] + 2)
    first = _submit(shared_db, a, now=clock)
    assert _submit(shared_db, a, now=clock).duplicate
    assert _submit(shared_db, b, now=clock).corrected == 1
    back = _submit(shared_db, a, now=clock)  # the same content as the first: A, B, then A
    assert not back.duplicate and back.corrected == 1
    assert back.submission_id != first.submission_id
    panel = load_panel(shared_db)
    mine = (panel.provenance["region_id"] == a.loc[0, "region_id"]) & (
        panel.provenance["category"] == a.loc[0, "category"]
    ) & (panel.provenance["period"] == pd.Timestamp(a.loc[0, "period"]))  # fmt: skip
    assert panel.dataset.incidents.loc[mine.to_numpy(), "detected"].item() == a.loc[0, "detected"]
    # and sending it once more changes nothing: the latest storing of that content answers
    again = _submit(shared_db, a, now=clock)
    assert again.duplicate and again.submission_id == back.submission_id


def test_submissions_are_in_the_audit_trail_with_their_counts(shared_db: Database) -> None:
    rows = _week(load_panel(shared_db).dataset).head(3)
    rows.loc[0, "detected"] += 1
    result = _submit(shared_db, rows)
    event = audit_trail(shared_db, action="submission")[0]
    assert (event.actor, event.agency, event.country) == ("grc-bp", "Border Police", "GRC")
    assert event.detail == {
        "submission_id": result.submission_id,
        "file": "w.csv",
        "rows": 3,
        "new": 0,
        "corrected": 1,
        "unchanged": 2,
        "duplicate": False,
    }
    (imported,) = audit_trail(shared_db, action="import")
    assert imported.actor == "ops" and len(imported.detail["submissions"]) == 3


def test_an_import_that_would_change_the_panels_kind_stores_nothing(
    shared_db: Database, tmp_path: Path
) -> None:
    panel = load_panel(shared_db)
    out = tmp_path / "counts"
    out.mkdir()
    (out / "regions.geojson").write_text(Path(_regions_file(shared_db, tmp_path)).read_text())
    counts = panel.dataset.incidents.head(4)
    counts = counts.assign(count=counts["reported"] + counts["detected"])
    counts[["region_id", "period", "category", "count"]].to_csv(out / "incidents.csv", index=False)
    with pytest.raises(DataValidationError, match="records reported, detected and effort"):
        import_directory(shared_db, out, Submitter("ops"))
    assert latest_submission(shared_db) == panel.last_submission


def _regions_file(db: Database, tmp_path: Path) -> Path:
    from crossplan.pipelines.database import export_panel

    export_panel(db, tmp_path / "export")
    return tmp_path / "export" / "regions.geojson"
