"""``crossplan operations``: the operator seeds, proposes, pledges for the parties, reads,
and ends joint operations on the shared database; a problem is exit 2 saying how to fix it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from crossplan.pipelines.contract import load_dataset
from crossplan.pipelines.database import next_period, utcnow
from crossplan.pipelines.simulate import last_full_week, simulate_world
from crossplan.serving.cli import main
from tests.conftest import TINY_WORLD


@pytest.fixture
def imported(crossplan_home: Path, tiny_world_dir: Path) -> str:
    """The tiny world imported; the next period to begin (YYYY-MM-DD)."""
    assert main(["import", "--data", str(tiny_world_dir)]) == 0
    return next_period("weekly", utcnow()).isoformat()


def test_seed_pledge_confirm_and_read(
    imported: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["operations", "seed"]) == 0
    op = f"JO-1.{imported}"
    assert f"JO-1 → {op}: proposed" in capsys.readouterr().out
    assert main(["operations", "seed"]) == 0  # the same periods again: nothing twice
    assert f"{op}: exists" in capsys.readouterr().out
    assert main(["operations", "pledge", op, "--unit", "MKD-BP-01=4"]) == 0
    assert f"{op}: pledged; now open" in capsys.readouterr().err
    pledge = ["operations", "pledge", op, "--unit", f"GRC-BP-01@{imported}=4"]
    assert main(pledge) == 0
    assert f"{op}: pledged, confirmed; now confirmed" in capsys.readouterr().err
    out = tmp_path / "op.json"
    assert main(["operations", "show", op, "--json", str(out)]) == 0
    shown = json.loads(out.read_text())
    assert [e["kind"] for e in shown["events"]] == ["proposed", "pledged", "pledged", "confirmed"]
    assert shown["events"][0]["by"]["key"].startswith("cli:")
    assert [p["units"][0]["unit_id"] for p in shown["parties"]] == ["GRC-BP-01", "MKD-BP-01"]
    assert main(["operations", "list", "--status", "confirmed", "--json", str(out)]) == 0
    assert [o["operation_id"] for o in json.loads(out.read_text())["operations"]] == [op]
    assert op in capsys.readouterr().out
    assert main(["audit", "--action", "operation_confirmed", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["events"][0]["detail"]["operation_id"] == op


def test_propose_decline_withdraw_and_cancel(
    imported: str, capsys: pytest.CaptureFixture[str]
) -> None:
    propose = ["operations", "propose", "--regions", "r004,r007", "--periods", imported,
               "--need", "GRC=4", "--need", "GRC/Coast Guard=2", "--need", "MKD=4",
               "--multiplier", "1.5"]  # fmt: skip
    assert main(propose) == 0
    assert main(propose) == 0
    # JO-1 is the resources' candidate: the generated ids go past it
    assert "JO-3: proposed; now open" in capsys.readouterr().err
    assert main(["operations", "decline", "JO-2", "--country", "MKD", "--reason", "no"]) == 0
    assert main(["operations", "withdraw", "JO-2"]) == 0
    assert "JO-2: withdrawn; now withdrawn" in capsys.readouterr().err
    assert main(["operations", "cancel", "JO-3", "--reason", "the storm"]) == 0
    assert "JO-3: cancelled; now cancelled" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["operations", "show"], "needs the operation's ID"),
        (["operations", "show", "JO-9"], "no operation JO-9"),
        (["operations", "propose", "--regions", "r004"], "needs --regions, --periods"),
        # a region no agreement opens to GRC, located
        (
            [
                "operations",
                "propose",
                "--regions",
                "r010",
                "--periods",
                "{next}",
                "--need",
                "GRC=4",
                "--need",
                "MKD=4",
            ],
            "regions[0]: region 'r010' of MKD",
        ),
        (
            [
                "operations",
                "propose",
                "--regions",
                "r004",
                "--periods",
                "{next}",
                "--need",
                "GRC:4",
            ],
            "is not ISO3=N",
        ),
        (
            [
                "operations",
                "propose",
                "--regions",
                "r004",
                "--periods",
                "{next}",
                "--need",
                "GRC/Coast Guard=2",
                "--need",
                "MKD=4",
            ],
            "but not its shifts in all",
        ),
        (["operations", "pledge", "JO-1.{next}"], "pledge needs --unit"),
        (
            ["operations", "pledge", "JO-1.{next}", "--unit", "GRC-BP-01@2026-13-40=4"],
            "is no date",
        ),
        (["operations", "decline", "JO-1.{next}"], "decline needs --country"),
        (["operations", "cancel", "JO-1.{next}"], "cancel needs --reason"),
        # a country that is not party to it
        (["operations", "decline", "JO-1.{next}", "--country", "ALB"], "ALB is not party"),
    ],
)
def test_problems_exit_2_saying_how_to_fix_them(
    imported: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["operations", "seed"]) == 0
    capsys.readouterr()
    assert main([a.replace("{next}", imported) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err, err


@pytest.mark.parametrize(
    "argv",
    [
        ["operations", "propose", "--periods", "next monday"],  # not a date
        ["operations", "propose", "--deadline", "soon"],  # not a time
        ["operations", "list", "--status", "launched"],  # no such status
        ["operations", "launch", "JO-1"],  # no such action
    ],
)
def test_bad_options_are_usage_errors(
    crossplan_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_a_confirmed_operation_binds_the_plans_of_the_database(
    crossplan_home: Path,
    tmp_path: Path,
    stand_in_forecast: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``crossplan plan --database`` launches what the parties confirmed and reserves the
    planner's pledge; before the confirmation it says how to agree the operation."""
    world = tmp_path / "world"
    simulate_world(**TINY_WORLD, end=last_full_week(date.today())).write(world)
    assert main(["import", "--data", str(world)]) == 0
    forecast = tmp_path / "forecast.parquet"
    stand_in_forecast(load_dataset(world)).to_parquet(forecast)
    week = next_period("weekly", utcnow()).isoformat()
    plan = ["plan", "--database", "--forecast", str(forecast), "--horizon", "4",
            "--country", "MKD", "--scope", "national", "--json", str(tmp_path / "plan.json")]  # fmt: skip
    assert main(["operations", "seed"]) == 0
    op = f"JO-1.{week}"
    assert main(plan) == 0
    # the resources' candidate is proposed, not yet agreed: not launched, and how to agree it
    assert f"JO-1 not launched ({week}" in capsys.readouterr().out.replace("\n", " ")
    assert main(["operations", "pledge", op, "--unit", "MKD-BP-01=5"]) == 0
    assert main(["operations", "pledge", op, "--unit", "GRC-BP-01=4"]) == 0
    assert main(plan) == 0
    body = json.loads((tmp_path / "plan.json").read_text())
    (outcome,) = [
        s
        for o in body["joint_operations"]
        for s in o["periods"]
        if (o["operation_id"], s["period"]) == (op, week)
    ]
    assert outcome["launched"] and outcome["confirmed"]
    assert body["confirmed"] == [
        {"operation_id": op, "period": week, "reserved": {"MKD-BP-01": 5}, "need": 0}
    ]
    assert {r["country"] for r in body["fixed_effort"]} == {"GRC"}
    assert sum(r["shifts"] for r in body["fixed_effort"]) == 4


def test_value_says_what_pledging_is_worth_to_a_party(
    crossplan_home: Path,
    tmp_path: Path,
    stand_in_forecast: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = tmp_path / "world"
    simulate_world(**TINY_WORLD, end=last_full_week(date.today())).write(world)
    assert main(["import", "--data", str(world)]) == 0
    week = next_period("weekly", utcnow()).isoformat()
    assert main(["operations", "seed"]) == 0
    op = f"JO-1.{week}"
    capsys.readouterr()
    # no champion yet: the command says how to get one
    assert main(["operations", "value", op, "--country", "GRC"]) == 2
    assert "train a model first" in capsys.readouterr().err
    assert main(["operations", "value", op]) == 2
    assert "needs --country" in capsys.readouterr().err
    assert main(["operations", "value", op, "--country", "ALB"]) == 2  # not a party
    assert f"no operation {op}" in capsys.readouterr().err
