"""``crossplan plan``: a plan as JSON, or exit 2 with the reason and nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from crossplan.serving.cli import main


def _forecast(data: Path, periods: int = 2) -> pd.DataFrame:
    """The world's last true activity rates, repeated for the weeks after its panel."""
    truth = pd.read_parquet(data / "truth.parquet")
    last = truth["period"].max()
    rows = []
    for k in range(1, periods + 1):
        rate = truth[truth["period"] == last]
        rows.append(
            pd.DataFrame(
                {
                    "region_id": rate["region_id"],
                    "category": rate["category"],
                    "period": (last + pd.Timedelta(weeks=k)).strftime("%Y-%m-%d"),
                    "activity_mean": rate["activity_rate"],
                    "activity_q10": 0.6 * rate["activity_rate"],
                    "activity_q50": rate["activity_rate"],
                    "activity_q90": 1.6 * rate["activity_rate"],
                    "detection_rate": 0.2,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def world(small_world_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the small world with a forecast file beside it."""
    data = tmp_path / "world"
    shutil.copytree(small_world_dir, data)
    _forecast(data).to_csv(tmp_path / "forecast.csv", index=False)
    return data


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_plan_writes_design_json(world: Path, tmp_path: Path, solver: str) -> None:
    out = tmp_path / "plan.json"
    code = main(
        [
            "plan", "--data", str(world), "--forecast", str(tmp_path / "forecast.csv"),
            "--horizon", "2", "--solver", solver, "--time-limit", "30", "--json", str(out),
            "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    plan = json.loads(out.read_text())
    assert plan["status"] == "optimal" and plan["solver"] == solver
    assert len(plan["periods"]) == 2
    resources = json.loads((world / "resources.json").read_text())
    caps = {u["unit_id"]: u["shifts_per_period"] for u in resources["units"]}
    for period in plan["periods"]:
        used: dict[str, int] = {}
        for a in plan["assignments"]:
            if a["period"] == period:
                used[a["unit_id"]] = used.get(a["unit_id"], 0) + a["shifts"]
        assert all(n <= caps[u] for u, n in used.items())
    # the same forecast scored under both simple policies, and the plan beats them
    assert plan["baselines"]["proportional"] is not None
    assert plan["objective"] > max(plan["baselines"].values())
    # the envelope of the HTTP API: a file forecast has no model, the inputs a fingerprint
    assert plan["model"] is None and plan["plan_id"] is None
    assert len(plan["input_fingerprint"]) == 64 and plan["created_at"]


def test_plan_prints_a_summary(world: Path, tmp_path: Path, capsys) -> None:
    assert main(["plan", "--data", str(world), "--forecast", str(tmp_path / "forecast.csv")]) == 0
    out = capsys.readouterr().out
    assert "expected interdictions" in out and "optimal" in out


def _infeasible_floors(world: Path) -> None:
    doc = json.loads((world / "resources.json").read_text())
    doc["policy"]["min_shifts_per_region"] = 50
    (world / "resources.json").write_text(json.dumps(doc))


def _tiny_budget(world: Path) -> None:
    doc = json.loads((world / "resources.json").read_text())
    doc["policy"]["min_shifts_per_region"] = 1
    doc["policy"]["budget"] = 1.0
    (world / "resources.json").write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("spoil", "named"),
    [
        (_infeasible_floors, "floor[*,"),  # floors above all units' capacity
        (_tiny_budget, "budget["),  # a budget below the floors' cost
    ],
)
def test_infeasible_exits_2_with_the_diagnosis_and_writes_nothing(
    world: Path, tmp_path: Path, capsys, spoil, named
) -> None:
    spoil(world)
    out = tmp_path / "plan.json"
    code = main(
        ["plan", "--data", str(world), "--forecast", str(tmp_path / "forecast.csv"),
         "--json", str(out)]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "no plan meets every constraint" in err and named in err
    assert "Traceback" not in err
    assert not out.exists()


def _bad_forecast(tmp_path: Path, edit) -> Path:
    frame = pd.read_csv(tmp_path / "forecast.csv")
    path = tmp_path / "bad.csv"
    edit(frame).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # a column left out
        (lambda f: f.drop(columns="activity_q90"), "missing column activity_q90"),
        # a negative value, on the second data row
        (
            lambda f: f.assign(activity_mean=[-1.0] + [1.0] * (len(f) - 1)).iloc[[1, 0]],
            "bad.csv, row 2, column 'activity_mean': must be a finite number ≥ 0, got -1.0",
        ),
        # a region the data does not have
        (lambda f: f.assign(region_id="nowhere"), "bad.csv, row 1, column 'region_id': unknown"),
    ],
)
def test_bad_forecast_file_exits_2_naming_the_place(world, tmp_path, capsys, edit, message) -> None:
    path = _bad_forecast(tmp_path, edit)
    assert main(["plan", "--data", str(world), "--forecast", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_without_a_model_or_forecast_the_user_is_told_what_to_do(
    world: Path, crossplan_home: Path, capsys
) -> None:
    assert main(["plan", "--data", str(world)]) == 2
    err = capsys.readouterr().err
    assert "crossplan train" in err and "--forecast" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--horizon", "0"], "--horizon must be at least 1"),  # nothing to plan
        (["--time-limit", "-3"], "--time-limit must be positive"),  # no time at all
        (["--risk-quantile", "0.99"], "--risk-quantile"),  # beyond the forecast's q90
        (["--forecast", "missing.csv"], "forecast file not found"),  # a typo in the path
        (["--forecast", "forecast.txt"], "give a .csv or .parquet"),  # an unknown format
    ],
)
def test_bad_options_exit_2(world: Path, tmp_path: Path, capsys, args, message) -> None:
    (tmp_path / "forecast.txt").write_text("x")
    args = [str(tmp_path / a) if a.endswith((".csv", ".txt")) else a for a in args]
    assert main(["plan", "--data", str(world), *args]) == 2
    assert message in capsys.readouterr().err
