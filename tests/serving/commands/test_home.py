"""No home by accident: a command run outside its home says which home it looked for and
refuses to start one there, unless asked (``--init``, or ``crossplan import``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossplan.serving.cli import main


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no home in it, the working directory, and no CROSSPLAN_HOME."""
    monkeypatch.chdir(tmp_path)
    for name in ("CROSSPLAN_HOME", "CROSSPLAN_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["plans", "list"],  # reads the database
        ["keys", "add", "ana", "--role", "analyst"],  # writes it
        ["audit"],
        ["submissions", "list"],
        ["operations", "list"],
        ["export", "--out", "panel"],
        ["promote", "--version", "1", "--reason", "why"],  # the MLflow store
        ["train", "--data", "WORLD", "--quiet"],  # refused before the backtest
    ],
)
def test_a_command_outside_a_home_refuses_to_start_one(
    elsewhere: Path, tiny_world_dir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tiny_world_dir) if a == "WORLD" else a for a in argv]) == 2
    err = capsys.readouterr().err
    assert f"no crossplan home at {elsewhere / '.crossplan'}" in err
    assert "CROSSPLAN_HOME is not set" in err  # where it came from
    assert "set CROSSPLAN_HOME=DIR" in err and "--init" in err  # the fixes
    assert list(elsewhere.iterdir()) == []  # nothing created


def test_a_home_named_that_does_not_exist_is_refused_too(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CROSSPLAN_HOME", str(elsewhere / "hoem"))  # a typo
    assert main(["keys", "list"]) == 2
    assert f"no crossplan home at {elsewhere / 'hoem'} (CROSSPLAN_HOME)" in capsys.readouterr().err
    assert not (elsewhere / "hoem").exists()


def test_init_starts_a_home_and_every_command_says_which(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "list", "--init"]) == 0
    home = elsewhere / ".crossplan"
    assert (home / "crossplan.db").is_file()
    err = capsys.readouterr().err
    assert err.startswith(f"crossplan keys: home {home} (CROSSPLAN_HOME is not set")
    assert "no keys in" in err and "crossplan keys add NAME --role ROLE" in err  # empty state
    assert main(["plans", "list"]) == 0  # the home exists now: no --init needed
    out, err = capsys.readouterr()
    assert "no plans stored yet" in out and f"home {home}" in err


def test_import_starts_a_home_by_design(
    elsewhere: Path, tiny_world_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "--data", str(tiny_world_dir)]) == 0
    assert (elsewhere / ".crossplan" / "crossplan.db").is_file()
    err = capsys.readouterr().err
    # what it did, in words that agree with the figures
    assert "resources.json: stored (submission 2)\n" in err  # no cells to count
    assert "incidents.parquet: stored (submission 3; " in err
    assert " new)" in err and " 0 " not in err


def test_import_into_a_database_by_url_starts_no_home(
    elsewhere: Path,
    tiny_world_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('shared') / 'crossplan.db'}"
    monkeypatch.setenv("CROSSPLAN_DATABASE_URL", url)
    assert main(["import", "--data", str(tiny_world_dir)]) == 0
    assert list(elsewhere.iterdir()) == []  # the database is not the home's
