"""``crossplan keys``: a key is printed once, stored hashed, listed by name, revoked."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Principal, Role
from crossplan.serving.cli import main


def _keys(home: Path) -> KeyStore:
    return KeyStore(Database.connect(f"sqlite:///{home / 'crossplan.db'}"))


def test_add_prints_the_key_once_and_stores_only_its_hash(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "add", "demo", "--role", "admin"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("cpk_")
    assert "not shown again" in err
    assert token.encode() not in (crossplan_home / "crossplan.db").read_bytes()
    assert _keys(crossplan_home).read().authenticate(token) == Principal("demo", Role.ADMIN)

    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "demo\tadmin" in listed
    assert token not in listed


def test_an_agency_key_names_its_country_and_agency(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["keys", "add", "grc-bp", "--role", "reporter", "--country", "GRC"]
    assert main([*argv, "--agency", "Border Police"]) == 0
    token = capsys.readouterr().out.strip()
    assert _keys(crossplan_home).read().authenticate(token) == Principal(
        "grc-bp", Role.REPORTER, "GRC", "Border Police"
    )
    assert main(["keys", "list"]) == 0
    assert "grc-bp\treporter\tGRC\tBorder Police" in capsys.readouterr().out


def test_the_keys_can_live_in_another_database(
    crossplan_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "shared" / "crossplan.db"
    monkeypatch.setenv("CROSSPLAN_DATABASE_URL", f"sqlite:///{elsewhere}")
    assert main(["keys", "add", "demo", "--role", "planner"]) == 0
    assert elsewhere.exists()
    assert not (crossplan_home / "crossplan.db").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["keys", "add"], "needs a NAME"),  # no name
        (["keys", "add", "has space", "--role", "planner"], "bad key name"),
        (["keys", "add", "demo"], "needs --role, what the key may do: reporter"),  # no role
        (["keys", "revoke", "nobody"], "no key named 'nobody'"),
        (["keys", "add", "r", "--role", "reporter"], "give --country"),  # whose rows?
    ],
)
def test_mistakes_exit_2_with_the_fix(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_name_cannot_get_a_second_key_until_revoked(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "add", "demo", "--role", "planner"]) == 0
    assert main(["keys", "add", "demo", "--role", "planner"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["keys", "revoke", "demo"]) == 0
    assert main(["keys", "add", "demo", "--role", "planner"]) == 0


def test_replace_rotates_a_key(crossplan_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "add", "demo", "--role", "planner"]) == 0
    old = capsys.readouterr().out.strip()
    assert main(["keys", "add", "demo", "--role", "analyst", "--replace"]) == 0
    new = capsys.readouterr().out.strip()
    ring = _keys(crossplan_home).read()
    assert ring.authenticate(old) is None
    assert ring.authenticate(new) == Principal("demo", Role.ANALYST)
    assert ring.names() == ["demo"]


def test_a_database_that_is_down_exits_2_with_the_fix(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSPLAN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/crossplan")
    assert main(["keys", "add", "demo", "--role", "planner"]) == 2
    assert "fix: start the database server" in capsys.readouterr().err
