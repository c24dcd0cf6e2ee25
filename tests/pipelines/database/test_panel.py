"""Panel versions: import, corrections as versions, the panel as of any time, export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from crossplan.pipelines.contract import Dataset, load_dataset
from crossplan.pipelines.database import (
    Database,
    Submitter,
    export_panel,
    import_directory,
    load_panel,
    submit_incidents,
)
from crossplan.pipelines.errors import DataValidationError


def _week(dataset: Dataset, country: str) -> pd.DataFrame:
    inc = dataset.incidents
    mine = dataset.regions.loc[dataset.regions["country"] == country, "region_id"]
    rows = inc[(inc["period"] == inc["period"].max()) & inc["region_id"].isin(mine)].copy()
    rows["period"] = rows["period"].dt.strftime("%Y-%m-%d")
    return rows


def test_an_imported_directory_comes_back_as_the_same_panel(
    database_url: str, tiny_world_dir: Path, tmp_path: Path
) -> None:
    db = Database.connect(database_url)
    import_directory(db, tiny_world_dir, Submitter("ops"))
    panel = load_panel(db)
    expected = load_dataset(tiny_world_dir)
    pd.testing.assert_frame_equal(panel.dataset.incidents, expected.incidents)
    assert panel.dataset.resources == expected.resources
    # a second import of the same files stores nothing
    assert all(r.duplicate for r in import_directory(db, tiny_world_dir, Submitter("ops")))
    export_panel(db, tmp_path / "out")
    pd.testing.assert_frame_equal(load_dataset(tmp_path / "out").incidents, expected.incidents)


def test_a_correction_is_a_new_version_and_the_past_panel_is_rebuilt_exactly(
    database_url: str, tiny_world_dir: Path, clock: Callable[[], datetime]
) -> None:
    db = Database.connect(database_url)
    import_directory(db, tiny_world_dir, Submitter("ops"), now=clock)
    before = load_panel(db)
    rows = _week(before.dataset, "GRC")
    rows.loc[rows.index[0], "detected"] += 7
    grc = Submitter("grc-bp", "Border Police", "GRC")
    result = submit_incidents(db, rows, file="w.csv", row_of=lambda i: i + 2, submitter=grc,
                              now=clock)  # fmt: skip
    assert (result.new, result.corrected, result.unchanged) == (0, 1, len(rows) - 1)
    after = load_panel(db)
    assert after.fingerprint != before.fingerprint
    changed = after.provenance["submission_id"] == result.submission_id
    assert changed.sum() == 1 and after.provenance.loc[changed, "agency"].item() == "Border Police"
    # as of any time before the correction: the panel as it was, to the byte
    again = load_panel(db, before.as_of + timedelta(seconds=30))
    assert again.fingerprint == before.fingerprint
    pd.testing.assert_frame_equal(again.dataset.incidents, before.dataset.incidents)


def test_a_refused_submission_stores_nothing(database_url: str, tiny_world_dir: Path) -> None:
    db = Database.connect(database_url)
    import_directory(db, tiny_world_dir, Submitter("ops"))
    before = load_panel(db)
    rows = pd.concat([_week(before.dataset, "GRC"), _week(before.dataset, "MKD")])
    with pytest.raises(DataValidationError, match="is in MKD"):
        submit_incidents(db, rows, file="w.csv", row_of=lambda i: i + 2,
                         submitter=Submitter("grc-bp", "Border Police", "GRC"))  # fmt: skip
    assert load_panel(db).fingerprint == before.fingerprint
