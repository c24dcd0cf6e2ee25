"""Installed, crossplan is one namespace: the wheel holds ``crossplan/`` and the command only,
and no other project's ``models`` (or a stray ``models.py``) shadows it or is shadowed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("models", "optimize", "pipelines", "serving")


def _packages() -> list[str]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return list(setuptools["packages"])


def test_every_folder_of_code_is_a_package_of_the_namespace() -> None:
    folders = sorted(
        "crossplan." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
    )
    assert sorted(_packages()) == folders


@pytest.mark.slow
def test_the_wheel_installs_the_namespace_and_the_command_only(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("crossplan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    info = next(t for t in tops if t.endswith(".dist-info"))
    assert tops == {"crossplan", info}
    assert "crossplan/serving/web/index.html" in names
    assert "crossplan/pipelines/database/migrations/env.py" in names
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    assert "crossplan = crossplan.serving.cli:main" in entry_points


def test_another_models_package_and_a_stray_models_py_shadow_nothing(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text("OTHER = 'a project of its own'\n")
    code = (
        "import crossplan.models.base, crossplan.serving.cli, models\n"
        "from crossplan.models import PanelForecaster\n"
        "print(models.OTHER, crossplan.models.base.__file__)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    other, ours = run.stdout.split(" /", 1)
    assert other.strip() == "a project of its own"
    assert Path("/" + ours.strip()) == ROOT / "models" / "base.py"
