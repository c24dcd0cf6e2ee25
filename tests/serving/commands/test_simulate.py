"""``crossplan simulate --end``: a world whose history ends in a chosen week."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from crossplan.pipelines.simulate import last_full_week
from crossplan.serving.cli import main

SMALL = ["--seed", "3", "--countries", "2", "--regions", "10", "--periods", "12", "--quiet"]


def _last_period(tmp_path: Path, end: str) -> str:
    summary = tmp_path / "summary.json"
    args = ["simulate", "--out", str(tmp_path / "world"), *SMALL, "--json", str(summary)]
    assert main([*args, "--end", end]) == 0
    return str(json.loads(summary.read_text())["last_period"])


@pytest.mark.parametrize(
    ("end", "last"),
    [
        ("2026-11-29", "2026-11-23"),  # a Sunday: the week that began the Monday before
        ("2026-11-23", "2026-11-23"),  # a Monday: its own week
    ],
)
def test_end_date_is_the_last_week(tmp_path: Path, end: str, last: str) -> None:
    assert _last_period(tmp_path, end) == last


def test_last_week_is_the_last_full_week_before_today(tmp_path: Path) -> None:
    before = last_full_week(date.today())
    last = _last_period(tmp_path, "last-week")
    assert last in {f"{before:%Y-%m-%d}", f"{last_full_week(date.today()):%Y-%m-%d}"}  # midnight


def test_a_bad_end_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--out", str(tmp_path / "world"), *SMALL, "--end", "yesterday"])
    assert info.value.code == 2
    assert "neither a date (YYYY-MM-DD) nor last-week" in capsys.readouterr().err
    assert not (tmp_path / "world").exists()
