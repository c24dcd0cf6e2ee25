"""``crossplan keys``: a key is printed once, stored hashed, listed by name, revoked."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.auth import KeysFile, Principal, Role
from serving.cli import main


def test_add_prints_the_key_once_and_stores_only_its_hash(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "add", "demo", "--role", "admin"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("cpk_")
    assert "not shown again" in err
    keys = KeysFile(crossplan_home / "api_keys.json")
    assert token not in keys.path.read_text()
    assert keys.read().authenticate(token) == Principal("demo", Role.ADMIN)

    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "demo\tadmin" in listed
    assert token not in listed


def test_the_keys_file_can_live_elsewhere(
    crossplan_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "secrets" / "keys.json"
    monkeypatch.setenv("CROSSPLAN_API_KEYS_FILE", str(elsewhere))
    assert main(["keys", "add", "demo"]) == 0
    assert elsewhere.exists()
    assert not (crossplan_home / "api_keys.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["keys", "add"], "needs a NAME"),  # no name
        (["keys", "add", "has space"], "bad key name"),
        (["keys", "revoke", "nobody"], "no key named 'nobody'"),
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
    assert main(["keys", "add", "demo"]) == 0
    assert main(["keys", "add", "demo"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["keys", "revoke", "demo"]) == 0
    assert main(["keys", "add", "demo"]) == 0


def test_replace_rotates_a_key(crossplan_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "add", "demo"]) == 0
    old = capsys.readouterr().out.strip()
    assert main(["keys", "add", "demo", "--role", "analyst", "--replace"]) == 0
    new = capsys.readouterr().out.strip()
    ring = KeysFile(crossplan_home / "api_keys.json").read()
    assert ring.authenticate(old) is None
    assert ring.authenticate(new) == Principal("demo", Role.ANALYST)
    assert ring.names() == ["demo"]


def test_a_broken_keys_file_is_reported_not_overwritten(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = crossplan_home / "api_keys.json"
    path.write_text("{oops")
    assert main(["keys", "add", "demo"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert path.read_text() == "{oops"
