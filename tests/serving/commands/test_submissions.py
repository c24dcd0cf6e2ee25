"""``crossplan submissions`` and ``crossplan audit``: list, revert, and the trail of every act."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.database import Database, Submitter, load_panel, submit_incidents
from crossplan.serving.cli import main


@pytest.fixture
def submitted(crossplan_home: Path, tiny_world_dir: Path) -> int:
    """The tiny world imported with ``crossplan import``, then one GRC correction: its id."""
    assert main(["import", "--data", str(tiny_world_dir)]) == 0
    db = Database.connect()
    inc = load_panel(db).dataset.incidents
    row = inc[(inc["region_id"] == "r002") & (inc["period"] == inc["period"].max())].head(1)
    row = row.assign(detected=row["detected"] + 3, period=row["period"].dt.strftime("%Y-%m-%d"))
    result = submit_incidents(db, row, file="fix.csv", row_of=lambda i: i + 2,
                              submitter=Submitter("grc-bp", "Border Police", "GRC"))  # fmt: skip
    return result.submission_id


def test_list_then_revert_then_the_same_revert_is_refused(
    submitted: int, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capsys.readouterr()
    assert main(["submissions", "list"]) == 0
    listed = capsys.readouterr().out
    assert "fix.csv" in listed and "Border Police" in listed and "regions.geojson" in listed
    assert main(["submissions", "rows", str(submitted)]) == 0
    assert "r002" in capsys.readouterr().out
    assert main(["submissions", "revert", str(submitted), "--reason", "a typo"]) == 0
    assert "1 cell restored, 0 withdrawn" in capsys.readouterr().err
    # its receipt names the revert, and its row is no longer current
    out = tmp_path / "receipt.json"
    assert main(["submissions", "show", str(submitted), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["reverted_by"] == [submitted + 1]
    assert main(["submissions", "rows", str(submitted), "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert (row["region_id"], row["current"]) == ("r002", False)
    # its cell holds the revert's value now: reverting it again is refused, naming the revert
    assert main(["submissions", "revert", str(submitted), "--reason", "again"]) == 2
    err = capsys.readouterr().err
    assert "hold other values since" in err and "it was reverted by submission" in err
    assert "fix:" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submissions", "revert", "1", "--reason", "x"], "is a regions document"),  # not cells
        (["submissions", "revert", "99", "--reason", "x"], "no submission 99"),  # no such id
        (["submissions", "revert", "{id}"], "needs the submission's ID and --reason"),
        (["audit", "--action", "nonsense"], "no action of the audit trail"),  # a typo
    ],
)
def test_bad_requests_exit_2_saying_how_to_fix_them(
    submitted: int, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([a.replace("{id}", str(submitted)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submissions", "show", "99"], "no submission 99"),  # no such id
        (["submissions", "rows"], "rows needs the submission's ID"),
        (["submissions", "revert", "1", "--reason", "x", "--url", "http://x"],
         "a revert is the operator's"),  # reporters do not revert
        (["validate", "--file", "{file}"], "add --database"),  # checked against what?
        (["validate", "--database"], "give --file"),  # a data directory takes no database
        (["validate", "--file", "{file}", "--database", "--key", "cpk_x"],
         "not one of this database's"),  # an unknown key
        (["validate", "--file", "{file}.txt", "--database", "--key", "cpk_x"],
         "w.csv.txt: unsupported file type"),  # a file the service does not take
        (["submit", "--file", "{file}.txt", "--url", "http://127.0.0.1:1", "--key", "cpk_x"],
         "w.csv.txt: unsupported file type"),
        (["submit", "--file", "{file}.json", "--url", "http://127.0.0.1:1", "--key", "cpk_x"],
         "cannot read"),  # no such file
    ],
)  # fmt: skip
def test_a_submission_command_without_what_it_needs_exits_2(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    week = crossplan_home / "w.csv"
    week.write_text("region_id,period,count\nr002,2024-01-01,1\n")
    assert main([a.replace("{file}", str(week)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--limit", "0"],  # not a count
        ["audit", "--limit", "many"],  # not a number
        ["submissions", "revert", "-3", "--reason", "x"],  # not an id
        ["submissions", "undo", "3"],  # not an action
    ],
)
def test_bad_options_are_usage_errors(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_every_act_is_in_the_audit_trail(
    submitted: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submissions", "revert", str(submitted), "--reason", "a typo"]) == 0
    assert main(["export", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert main(["audit"]) == 0
    table = capsys.readouterr().out
    for action in ("export", "revert", "submission", "import"):
        assert action in table
    assert main(["audit", "--action", "submission", "--json", str(tmp_path / "a.json")]) == 0
    (event,) = json.loads((tmp_path / "a.json").read_text())["events"]
    assert (event["actor"], event["agency"], event["country"]) == (
        "grc-bp", "Border Police", "GRC"
    )  # fmt: skip
    assert event["detail"]["submission_id"] == submitted and event["detail"]["corrected"] == 1
    assert main(["audit", "--limit", "2", "--json", str(tmp_path / "b.json")]) == 0
    events = json.loads((tmp_path / "b.json").read_text())["events"]
    assert [e["action"] for e in events] == ["export", "revert"]
    assert events[0]["actor"].startswith("cli:")
    assert events[0]["detail"]["last_submission"] == events[1]["detail"]["submission_id"]
    assert events[1]["detail"]["reverted"] == submitted


def test_the_revert_gives_back_the_imported_panel(
    submitted: int, tiny_world_dir: Path, tmp_path: Path
) -> None:
    assert main(["submissions", "revert", str(submitted), "--reason", "a typo"]) == 0
    assert main(["export", "--out", str(tmp_path / "out")]) == 0
    pd.testing.assert_frame_equal(
        load_dataset(tmp_path / "out").incidents, load_dataset(tiny_world_dir).incidents
    )
