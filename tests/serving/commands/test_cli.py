"""The console script: every command of the design exists; unbuilt ones say so and fail."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crossplan.serving.cli import build_parser, main

DESIGN_COMMANDS = {
    "simulate",
    "validate",
    "import",
    "export",
    "submit",
    "train",
    "backtest",
    "promote",
    "plan",
    "evaluate",
    "serve",
    "keys",
    "operations",
    "plans",
    "submissions",
    "audit",
}


def test_help_lists_every_command() -> None:
    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(choices) == DESIGN_COMMANDS


def test_console_script_runs(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crossplan.serving.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in DESIGN_COMMANDS:
        assert command in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate"])  # --out is required
    assert info.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_simulate_refuses_bad_options_before_writing(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "world"
    assert main(["simulate", "--out", str(out), "--countries", "1"]) == 2
    assert "countries must be between 2" in capsys.readouterr().err
    assert not out.exists()


def test_simulate_then_validate(tmp_path) -> None:
    out = tmp_path / "world"
    assert (
        main(
            [
                "simulate",
                "--out",
                str(out),
                "--seed",
                "5",
                "--regions",
                "20",
                "--countries",
                "3",
                "--periods",
                "30",
                "--quiet",
            ]
        )
        == 0
    )
    assert {p.name for p in out.iterdir()} == {
        "regions.geojson",
        "incidents.parquet",
        "truth.parquet",
        "resources.json",
    }
    code = main(
        [
            "validate",
            "--quiet",
            "--regions",
            str(out / "regions.geojson"),
            "--incidents",
            str(out / "incidents.parquet"),
            "--resources",
            str(out / "resources.json"),
        ]
    )
    assert code == 0


@pytest.mark.parametrize(
    "args",
    [
        [
            "validate",
            "--regions",
            "r.geojson",
            "--incidents",
            "i.csv",
            "--json",
            "{tmp}",
        ],  # a directory
        ["simulate", "--out", "{tmp}/w", "--json", "/dev/null/s.json"],  # under a file
        ["evaluate", "--seeds", "1,1"],  # the same world twice
        ["evaluate", "--policies", "oracle,oracle"],  # the same policy twice
        ["backtest", "--data", "{tmp}", "--json", "{tmp}"],  # a directory
    ],
)
def test_bad_output_and_repeats_are_usage_errors(args: list[str], tmp_path) -> None:
    with pytest.raises(SystemExit) as info:
        main([a.replace("{tmp}", str(tmp_path)) for a in args])
    assert info.value.code == 2
    assert list(tmp_path.iterdir()) == []


def test_results_json_has_no_nan(tmp_path) -> None:
    import json
    import math

    from crossplan.serving.commands._output import write_json

    path = tmp_path / "out.json"
    write_json(path, {"pai10": math.nan, "rows": [1.5, math.inf], "ok": 2})
    assert json.loads(path.read_text()) == {"pai10": None, "rows": [1.5, None], "ok": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],  # the list of commands
        [
            "validate",
            "--regions",
            "{d}/regions.geojson",
            "--incidents",
            "{d}/incidents.parquet",
            "--resources",
            "{d}/resources.json",
        ],  # checking the default world's files
        ["plan", "--help"],  # a heavy command's own help
    ],
)
def test_light_commands_load_neither_mlflow_nor_bentoml(small_world_dir, command) -> None:
    args = [a.format(d=small_world_dir) for a in command]
    probe = (
        "import sys\n"
        "from serving.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted({'mlflow', 'bentoml', 'lightgbm', 'sklearn'} & set(sys.modules))\n"
        "print('loaded:', ','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("loaded:"), out
