"""An import says whose rows they are: one agency for all, or one per country."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.database import (
    Database,
    Submitter,
    audit_trail,
    import_directory,
    list_submissions,
    load_panel,
)
from crossplan.pipelines.errors import DataValidationError
from tests.pipelines.database.conftest import Clock

# The tiny world's countries (GRC: r002-r008; MKD: r001, r009, r010).
AGENCIES = {"GRC": "Hellenic Police", "MKD": "MoI Border Police"}


def test_each_countrys_rows_are_stored_as_its_agencys(
    database_url: str, tiny_world_dir: Path, clock: Clock
) -> None:
    db = Database.connect(database_url)
    results = import_directory(db, tiny_world_dir, Submitter("cli:ops"), clock, AGENCIES)
    panel = load_panel(db)
    country = panel.dataset.regions.set_index("region_id")["country"]
    owner = panel.provenance["region_id"].map(country).map(AGENCIES)
    assert (panel.provenance["agency"] == owner).all()
    # the panel is the directory's, whoever owns its rows
    pd.testing.assert_frame_equal(
        panel.dataset.incidents.drop(columns="source"), load_dataset(tiny_world_dir).incidents
    )
    stored = {s.id: s for s in list_submissions(db)}
    incidents = [stored[r.submission_id] for r in results if r.rows]
    assert sorted((s.agency, s.country) for s in incidents) == [
        ("Hellenic Police", "GRC"),
        ("MoI Border Police", "MKD"),
    ]
    (event,) = audit_trail(db, action="import")
    assert event.detail["agencies"] == AGENCIES  # names the countries: their admins read it
    # the same directory again, with the same owners, stores nothing
    again = import_directory(db, tiny_world_dir, Submitter("cli:ops"), clock, AGENCIES)
    assert all(r.duplicate for r in again)


def test_countries_without_an_agency_keep_the_importers(
    database_url: str, tiny_world_dir: Path, clock: Clock
) -> None:
    db = Database.connect(database_url)
    import_directory(db, tiny_world_dir, Submitter("cli:ops", "Operator"), clock, {"MKD": "MoI"})
    panel = load_panel(db)
    country = panel.dataset.regions.set_index("region_id")["country"]
    expected = panel.provenance["region_id"].map(country).map({"MKD": "MoI", "GRC": "Operator"})
    assert (panel.provenance["agency"] == expected).all()


def test_an_agency_for_a_country_without_regions_is_refused(
    database_url: str, tiny_world_dir: Path, clock: Clock
) -> None:
    db = Database.connect(database_url)
    with pytest.raises(DataValidationError) as err:
        import_directory(db, tiny_world_dir, Submitter("cli:ops"), clock, {"GRX": "Typo"})
    assert "GRX" in err.value.problems[0].message
    assert list_submissions(db) == []
