"""What a new user meets first: a long command that shows it is alive when piped, tables
that keep their column names, and no stray files from a command run outside a project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_CROSSPLAN = str(Path(sys.executable).with_name("crossplan"))


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CROSSPLAN_HOME", "MLFLOW_TRACKING_URI", "COLUMNS")
    }
    return {**env, **extra}


def test_a_piped_backtest_reports_progress_and_keeps_column_names(
    small_world_dir: Path, tmp_path: Path
) -> None:
    out = subprocess.run(
        [_CROSSPLAN, "backtest", "--data", str(small_world_dir), "--origins", "2",
         "--horizon", "1", "--models", "last_value", "moving_average", "--no-mlflow"],
        capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), check=True,
    )  # fmt: skip
    # not a terminal: plain progress lines on stderr, never a silent wait
    assert "backtest: started" in out.stderr
    assert "backtest: done in" in out.stderr
    # the table is not cut at 80 columns
    for column in ("poisson_deviance", "coverage80", "interval_width80"):
        assert column in out.stdout


def test_plan_outside_a_project_says_how_and_leaves_nothing(
    small_world_dir: Path, tmp_path: Path
) -> None:
    out = subprocess.run(
        [_CROSSPLAN, "plan", "--data", str(small_world_dir)],
        capture_output=True, text=True, cwd=tmp_path, env=_clean_env(),
    )  # fmt: skip
    assert out.returncode == 2
    assert "crossplan train" in out.stderr and "--forecast" in out.stderr
    assert not (tmp_path / ".crossplan" / "mlflow.db").exists()
