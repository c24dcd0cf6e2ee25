"""The README's shell and Python blocks run as written, in a new folder, in their order.

A block the tests cannot run (one that serves until Ctrl-C, needs a PostgreSQL server, or
takes minutes) carries ``<!-- not run: why -->`` on the line above it; the training block's
work is done by the champion the service tests train on the same small world
(:func:`champion_store`), so the blocks after it run as a reader's would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from crossplan.optimize.forecast import FORECAST_COLUMNS

README = Path(__file__).parents[2] / "README.md"
_FENCE = re.compile(r"^( *)```(\w*)\s*$")
_NOT_RUN = re.compile(r"^\s*<!-- not run: (?P<why>.+?) -->\s*$")
_RUNNABLE = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python"}
_BIN = str(Path(sys.executable).parent)
# After the MLflow block: a CSV of the same panel (dates as text) forecasts the same.
_CHECK_PYFUNC = """
forecast.to_parquet("forecast.parquet")
panel.to_csv(f"{home}/incidents.csv", index=False)
from_csv = model.predict(pd.read_csv(f"{home}/incidents.csv"), params={"horizon": 2})
pd.testing.assert_frame_equal(from_csv, forecast)
"""


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    code: str
    not_run: str | None


def _blocks() -> list[Block]:
    """The README's shell and Python blocks, with the reason each one not run gives."""
    lines = README.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        indent, language, start = fence.group(1), fence.group(2), i
        i += 1
        while not lines[i].startswith(f"{indent}```"):
            i += 1
        if language in _RUNNABLE:
            code = "\n".join(line.removeprefix(indent) for line in lines[start + 1 : i])
            above = _NOT_RUN.match(lines[start - 1])
            found.append(Block(start + 1, _RUNNABLE[language], code, above and above["why"]))
        i += 1
    return found


def test_every_block_runs_or_says_why_not(champion_store: Path, tmp_path: Path) -> None:
    blocks = _blocks()
    assert [b.language for b in blocks].count("python") >= 1
    home = tmp_path / ".crossplan"
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "BENTOML_HOME", "BENTOML_DO_NOT_TRACK")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {"PATH": f"{_BIN}:{env.get('PATH', '')}", "CROSSPLAN_HOME": str(home)}
    ran = []
    for block in blocks:
        if block.not_run is not None:
            assert len(block.not_run) > 20, f"README line {block.line}: say why it is not run"
            if "crossplan train" in block.code:  # its champion, trained on the same world
                shutil.copy(champion_store / "mlflow.db", home / "mlflow.db")
            continue
        argv = (
            ["bash", "-euo", "pipefail", "-c"]
            if block.language == "bash"
            else [sys.executable, "-c"]
        )
        code = block.code
        if "crossplan-risk@champion" in code:  # what it made, and the same from a CSV
            code += _CHECK_PYFUNC
        done = subprocess.run(
            [*argv, code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"README line {block.line}:\n{done.stderr[-3000:]}"
        ran.append(block.line)
    assert len(ran) >= 3
    # what the blocks made: a home with its world, database and champion, a key, a plan, a
    # forecast two periods ahead; nothing else in the folder (no stray mlflow.db)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".crossplan", "forecast.parquet", "my-planner.key", "plan.json",
    ]  # fmt: skip
    assert (tmp_path / "my-planner.key").read_text().startswith("cpk_")
    forecast = pd.read_parquet(tmp_path / "forecast.parquet")
    assert list(forecast.columns) == list(FORECAST_COLUMNS)
    assert forecast["period"].nunique() == 2  # the horizon parameter
