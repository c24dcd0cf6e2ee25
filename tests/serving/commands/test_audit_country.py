"""``crossplan audit --country``: one country's events, as that country's admins read them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossplan.pipelines.database import Database, record_event
from crossplan.serving.cli import main


def test_the_trail_of_one_country(crossplan_home: Path, tmp_path: Path) -> None:
    db = Database.connect()
    record_event(db, "mkd-reporter", "submission", actor_country="MKD", rows=3)
    record_event(db, "grc-reporter", "submission", actor_country="GRC", rows=1)
    record_event(db, "grc-planner", "plan", actor_country="GRC", countries=["GRC", "MKD"])
    out = tmp_path / "audit.json"
    assert main(["audit", "--country", "MKD", "--json", str(out)]) == 0
    events = json.loads(out.read_text())["events"]
    assert [(e["actor"], e["action"]) for e in events] == [
        ("grc-planner", "plan"),
        ("mkd-reporter", "submission"),
    ]


def test_a_country_is_an_iso3_code(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "--country", "mk"])
    assert exit_.value.code == 2
    assert "ISO 3166-1 alpha-3" in capsys.readouterr().err
