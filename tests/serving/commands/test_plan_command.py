"""``crossplan plan`` plans the units its planner commands: an agency's, a country's, or —
the operator's default — every unit, in a central proposal that binds no one. A joint
operation that cannot be staffed is not launched, and the command says why.

On the default world (``crossplan simulate --seed 7``): six countries, JO-1 (ALB, GRC),
JO-2 (BGR, GRC) and JO-3 (BGR, MNE).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crossplan.pipelines.contract import load_dataset
from crossplan.serving.cli import main


@pytest.fixture(scope="module")
def forecast(
    default_world_dir: Path,
    stand_in_forecast: Callable[..., pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    path = tmp_path_factory.mktemp("forecast") / "forecast.csv"
    stand_in_forecast(load_dataset(default_world_dir), periods=2).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def resources(default_world_dir: Path) -> dict[str, Any]:
    return json.loads((default_world_dir / "resources.json").read_text())


def _plan(
    world: Path, forecast: Path, out: Path, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], str, str]:
    argv = ["plan", "--data", str(world), "--forecast", str(forecast), "--horizon", "2"]
    code = main([*argv, "--json", str(out), *args])
    printed = capsys.readouterr()
    return code, json.loads(out.read_text()) if out.exists() else {}, printed.out, printed.err


def _units(resources: dict[str, Any], **match: str) -> set[str]:
    return {
        u["unit_id"]
        for u in resources["units"]
        if all(u[field] == value for field, value in match.items())
    }


@pytest.mark.parametrize(
    ("args", "match", "binding"),
    [
        (["--country", "GRC", "--agency", "Border Police"], {"country": "GRC",
                                                              "agency": "Border Police"}, True),
        (["--country", "GRC", "--scope", "national"], {"country": "GRC"}, True),
        ([], {}, False),  # the operator: every unit, binding no one
    ],
)  # fmt: skip
def test_a_plan_assigns_the_units_its_planner_commands(
    default_world_dir, forecast, resources, tmp_path, capsys, args, match, binding
) -> None:
    code, plan, out, err = _plan(
        default_world_dir, forecast, tmp_path / "plan.json", *args, capsys=capsys
    )
    assert code == 0
    planned = {a["unit_id"] for a in plan["assignments"] if a["shifts"] > 0}
    commanded = _units(resources, **match)
    assert planned == commanded
    assert plan["binding"] is binding
    assert ("a central proposal" in err) is not binding
    assert ("binds no agency" in out) is not binding
    if binding:
        assert plan["command"]["country"] == "GRC"


def _grc_only(resources: dict[str, Any], world: Path, tmp_path: Path) -> Path:
    """GRC's units, and the agreements and joint operations GRC is party to."""
    mine = {
        "units": [u for u in resources["units"] if u["country"] == "GRC"],
        "agreements": [a for a in resources["agreements"] if "GRC" in a["countries"]],
        "joint_operations": [j for j in resources["joint_operations"] if "GRC" in j["countries"]],
        "policy": resources["policy"],
    }
    path = tmp_path / "grc.json"
    path.write_text(json.dumps(mine))
    return path


@pytest.mark.parametrize(
    ("args", "reasons"),
    [
        # GRC's national centre: the partners' parts are theirs to pledge
        (
            ["--country", "GRC", "--scope", "national"],
            {
                "JO-1": "GRC plans its own units; ALB's part is pledged by ALB, which has "
                "pledged none",
                "JO-2": "GRC plans its own units; BGR's part is pledged by BGR, which has "
                "pledged none",
            },
        ),
        # the operator with these resources: ALB and BGR have no unit at all
        (
            [],
            {
                "JO-1": "ALB has no unit that may work in JO-1's regions",
                "JO-2": "BGR has no unit that may work in JO-2's regions",
            },
        ),
    ],
)
def test_a_country_with_only_its_own_units_plans_and_says_which_operations_are_not_launched(
    default_world_dir, forecast, resources, tmp_path, capsys, args, reasons
) -> None:
    own = _grc_only(resources, default_world_dir, tmp_path)
    code, plan, out, err = _plan(
        default_world_dir, forecast, tmp_path / "plan.json", "--resources", str(own), *args,
        capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert plan["status"] == "optimal" and plan["assignments"]
    assert {a["unit_id"][:3] for a in plan["assignments"]} == {"GRC"}
    assert {
        (o["operation_id"], s["status"], s["reason"])
        for o in plan["joint_operations"]
        for s in o["periods"]
    } == {(operation, "not launched", reason) for operation, reason in reasons.items()}
    for operation, reason in reasons.items():
        assert f"{operation} not launched ({', '.join(plan['periods'])}): {reason}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agency", "Border Police"], "--agency and --scope go with --country"),  # whose?
        (["--scope", "national"], "--agency and --scope go with --country"),  # which country?
        (["--country", "GRC"], "give --agency NAME"),  # an agency's or the nation's plan?
        (["--country", "Greece", "--scope", "national"], "not an ISO 3166-1 alpha-3 code"),
    ],
)
def test_a_planner_is_named_whole_or_not_at_all(
    default_world_dir, forecast, tmp_path, capsys, args, message
) -> None:
    code, plan, _, err = _plan(
        default_world_dir, forecast, tmp_path / "plan.json", *args, capsys=capsys
    )
    assert code == 2 and not plan
    assert message in err
