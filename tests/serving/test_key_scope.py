"""A key's scope says which units its plans command: an agency's key its agency's units, a
national coordination centre's key (``--scope national``) every unit of its country, the
operator's key (no country) every unit, in plans that bind no one."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossplan.optimize.command import Command
from crossplan.optimize.resources import Unit
from crossplan.pipelines.database import Database
from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.auth import KeyStore, Principal, Role, Scope, add_key
from crossplan.serving.cli import main

UNITS = [
    Unit(unit_id="GRC-BP-01", agency="Border Police", country="GRC", shifts_per_period=5),
    Unit(unit_id="GRC-CG-01", agency="Coast Guard", country="GRC", shifts_per_period=5),
    Unit(unit_id="MKD-BP-01", agency="Border Police", country="MKD", shifts_per_period=5),
]


@pytest.mark.parametrize(
    ("principal", "units", "binding"),
    [
        # an agency's key: its agency's units
        (Principal("a", Role.PLANNER, "GRC", "Border Police"), {"GRC-BP-01"}, True),
        # a national coordination centre's key: every unit of its country
        (
            Principal("n", Role.PLANNER, "GRC", "NCC", Scope.NATIONAL),
            {"GRC-BP-01", "GRC-CG-01"},
            True,
        ),
        # an agency's key that names no agency commands nothing
        (Principal("x", Role.PLANNER, "GRC"), set(), True),
        # the operator's key: every unit, binding no one
        (Principal("o", Role.PLANNER), {u.unit_id for u in UNITS}, False),
    ],
)
def test_a_key_commands_the_units_its_scope_gives_it(
    principal: Principal, units: set[str], binding: bool
) -> None:
    command = principal.command
    assert {u.unit_id for u in UNITS if command.commands(u)} == units
    assert command.binding is binding


def test_a_national_key_needs_a_country(database_url: str) -> None:
    keys = KeyStore(Database.connect(database_url))
    with pytest.raises(ConfigurationError, match="give --country"):
        add_key(keys, "ncc", Role.PLANNER, scope=Scope.NATIONAL)
    token = add_key(keys, "ncc", Role.PLANNER, country="GRC", scope=Scope.NATIONAL)
    holder = keys.read().authenticate(token)
    assert holder == Principal("ncc", Role.PLANNER, "GRC", None, Scope.NATIONAL)
    assert holder.command == Command(country="GRC", scope="national")


def test_keys_add_scope_national(crossplan_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["keys", "add", "grc-ncc", "--role", "planner", "--country", "GRC", "--agency", "NCC"]
    assert main([*argv, "--scope", "national"]) == 0
    token = capsys.readouterr().out.strip()
    keys = KeyStore(Database.connect(f"sqlite:///{crossplan_home / 'crossplan.db'}"))
    assert keys.read().authenticate(token) == Principal(
        "grc-ncc", Role.PLANNER, "GRC", "NCC", Scope.NATIONAL
    )
    assert main(["keys", "list"]) == 0
    assert "grc-ncc\tplanner\tGRC\tNCC\tnational\t" in capsys.readouterr().out
    assert main(["keys", "add", "ops", "--role", "planner", "--scope", "national"]) == 2
    assert "a national scope commands every unit of a country" in capsys.readouterr().err
