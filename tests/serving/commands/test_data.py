"""``crossplan import`` and ``crossplan export``: a data directory in, the same one out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crossplan.pipelines.contract import load_dataset
from crossplan.serving.cli import main


def test_import_then_export_gives_back_the_panel_and_a_repeat_stores_nothing(
    crossplan_home: Path, tiny_world_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "--data", str(tiny_world_dir)]) == 0
    assert "incidents.parquet: stored" in capsys.readouterr().err
    assert main(["import", "--data", str(tiny_world_dir)]) == 0
    assert capsys.readouterr().err.count("already stored") == 3
    assert main(["export", "--out", str(tmp_path / "out")]) == 0
    pd.testing.assert_frame_equal(
        load_dataset(tmp_path / "out").incidents, load_dataset(tiny_world_dir).incidents
    )
    # as of a time before anything was received there is no panel: a clear error, exit 2
    assert main(["export", "--out", str(tmp_path / "old"), "--as-of", "2020-01-01T00:00Z"]) == 2
    assert "nothing was received up to 2020-01-01" in capsys.readouterr().err


def test_a_bad_directory_is_refused_whole(
    crossplan_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "regions.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    assert main(["import", "--data", str(tmp_path)]) == 2
    assert "incidents" in capsys.readouterr().err
    assert main(["export", "--out", str(tmp_path / "out")]) == 2
    assert "holds no panel yet" in capsys.readouterr().err
