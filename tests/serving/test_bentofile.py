"""``bentoml build`` packs the service with the champion's local copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bentoml_build_includes_the_model(forecast_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "bentoml"
    env = {**os.environ, "BENTOML_HOME": str(store), "BENTOML_DO_NOT_TRACK": "true"}
    copy = subprocess.run(  # the copy a first start of the service leaves behind
        [sys.executable, "-c", _SAVE_COPY, str(forecast_file)], env=env, check=True,
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    wheel = subprocess.run(  # what `make bento` builds first: the Bento installs it
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(ROOT / "dist"), str(ROOT)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert wheel.returncode == 0, wheel.stderr[-2000:]
    build = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", str(ROOT)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (bento,) = (d for d in (store / "bentos" / "crossplan").iterdir() if d.is_dir())
    manifest = yaml.safe_load((bento / "bento.yaml").read_text())
    assert [m["tag"] for m in manifest["models"]] == [copy]
    assert manifest["service"] == "crossplan.serving.service:CrossplanService"
    for package in ("serving", "pipelines", "models", "optimize"):
        assert (bento / "src" / package / "__init__.py").exists()
    assert not (bento / "src" / "tests").exists()


_SAVE_COPY = """
import sys
from pathlib import Path
from crossplan.serving.served_model import ForecastFile
from crossplan.serving.modelstore import save_copy
print(save_copy(ForecastFile(Path(sys.argv[1])), {"name": "crossplan-risk", "version": "1"}))
"""
