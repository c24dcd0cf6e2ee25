"""``crossplan validate``: exit 0 with a summary, or exit 2 naming every bad row and field."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from crossplan.serving.cli import main

Mutation = Callable[[Path], None]


def _csv(data: Path) -> Path:
    """Turn the world's panel into CSV so rows can be named by their line in the file."""
    panel = pd.read_parquet(data / "incidents.parquet")
    (data / "incidents.parquet").unlink()
    panel.to_csv(data / "incidents.csv", index=False)
    return data / "incidents.csv"


def _edit_csv(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Mutation:
    def mutate(data: Path) -> None:
        path = _csv(data)
        edit(pd.read_csv(path, dtype=str)).to_csv(path, index=False)

    return mutate


def _set(row: int, column: str, value: str) -> Mutation:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame

    return _edit_csv(edit)


def _edit_json(name: str, edit: Callable[[dict], None]) -> Mutation:
    def mutate(data: Path) -> None:
        _csv(data)
        doc = json.loads((data / name).read_text())
        edit(doc)
        (data / name).write_text(json.dumps(doc))

    return mutate


def _write(name: str, text: str) -> Mutation:
    def mutate(data: Path) -> None:
        _csv(data)
        (data / name).write_text(text)

    return mutate


def _duplicate_row(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame.iloc[:10], frame.iloc[[4]], frame.iloc[10:]], ignore_index=True)


def _same_region_twice(doc: dict) -> None:
    doc["features"][2]["properties"]["region_id"] = doc["features"][0]["properties"]["region_id"]


def _overlapping_geometry(doc: dict) -> None:
    doc["features"][5]["geometry"] = doc["features"][4]["geometry"]


def _unit_home(doc: dict) -> None:
    doc["units"][1]["home_region"] = "r999"


def _unit_country(doc: dict) -> None:
    doc["units"][0]["country"] = "FRA"


def _unit_twice(doc: dict) -> None:
    doc["units"][2]["unit_id"] = doc["units"][0]["unit_id"]


def _operation_country(doc: dict) -> None:
    doc["joint_operations"][0]["countries"][1] = "FRA"


def _agreement_region(doc: dict) -> None:
    doc["agreements"][0]["regions"].append("r404")


# (mutation, file named, row named, column named); CSV rows are lines (header = line 1)
BAD_INPUTS = [
    pytest.param(_edit_csv(_duplicate_row), "incidents.csv", "row 12", "region_id", id="duplicate key"),
    pytest.param(_set(6, "region_id", "r999"), "incidents.csv", "row 8", "region_id", id="unknown region"),
    pytest.param(_set(3, "reported", "-1"), "incidents.csv", "row 5", "reported", id="negative count"),
    pytest.param(_set(7, "detected", "1.5"), "incidents.csv", "row 9", "detected", id="fractional count"),
    pytest.param(_set(9, "reported", "many"), "incidents.csv", "row 11", "reported", id="not a number"),
    pytest.param(_set(100, "period", "2023-03-01"), "incidents.csv", "row 102", "period", id="mixed frequencies"),
    pytest.param(_set(100, "period", "2023-03-07"), "incidents.csv", "row 102", "period", id="misaligned period"),
    pytest.param(_set(2, "period", "next week"), "incidents.csv", "row 4", "period", id="unparseable date"),
    pytest.param(_edit_csv(lambda f: f.assign(weather="sunny")), "incidents.csv", None, "weather", id="unknown column"),
    pytest.param(_edit_csv(lambda f: f.assign(passport_number="X")), "incidents.csv", None, "passport_number", id="personal data column"),
    pytest.param(_edit_csv(lambda f: f.drop(columns=["effort"])), "incidents.csv", None, "effort", id="effort missing"),
    pytest.param(_write("incidents.csv", ""), "incidents.csv", None, None, id="empty file"),
    pytest.param(_write("incidents.csv", "region_id,period,count\n"), "incidents.csv", None, None, id="header only"),
    pytest.param(_write("regions.geojson", '{"type": "FeatureCollection", "features": [{'), "regions.geojson", "row 1", None, id="broken geojson"),
    pytest.param(_edit_json("regions.geojson", _same_region_twice), "regions.geojson", "row 1", "region_id", id="region id twice"),
    pytest.param(_edit_json("regions.geojson", _overlapping_geometry), "regions.geojson", "row 5", "geometry", id="overlapping regions"),
    pytest.param(_edit_json("resources.json", _unit_home), "resources.json", "at units[1]", "home_region", id="unit home unknown"),
    pytest.param(_edit_json("resources.json", _unit_country), "resources.json", "at units[0]", "country", id="unit country unknown"),
    pytest.param(_edit_json("resources.json", _unit_twice), "resources.json", "at units[2]", "unit_id", id="unit id twice"),
    pytest.param(_edit_json("resources.json", _operation_country), "resources.json", "joint_operations[0].countries[1]", "country", id="operation country unknown"),
    pytest.param(_edit_json("resources.json", _agreement_region), "resources.json", "agreements[0].regions", "regions", id="agreement region unknown"),
]  # fmt: skip


def _args(data: Path, out: Path) -> list[str]:
    incidents = next(p for p in data.iterdir() if p.name.startswith("incidents."))
    return [
        "validate",
        "--regions", str(data / "regions.geojson"),
        "--incidents", str(incidents),
        "--resources", str(data / "resources.json"),
        "--json", str(out),
    ]  # fmt: skip


def test_valid_world_passes_with_summary(
    small_world_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "summary.json"
    assert main(_args(small_world_dir, out)) == 0
    summary = json.loads(out.read_text())
    assert summary["frequency"] == "weekly"
    assert summary["periods"] == 60
    assert "cross border pairs" in capsys.readouterr().out


@pytest.mark.parametrize(("mutate", "file", "row", "column"), BAD_INPUTS)
def test_bad_input_exits_2_naming_the_place(
    mutate: Mutation,
    file: str,
    row: str | None,
    column: str | None,
    small_world_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_world_dir, data)
    mutate(data)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    out = tmp_path / "summary.json"

    assert main(_args(data, out)) == 2

    err = capsys.readouterr().err
    assert file in err
    if row is not None:
        assert row in err
    if column is not None:
        assert f"'{column}'" in err
    assert "fix:" in err
    assert not out.exists()
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


def test_missing_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "validate",
            "--regions",
            str(tmp_path / "nope.geojson"),
            "--incidents",
            str(tmp_path / "nope.csv"),
        ]
    )
    assert code == 2
    assert "file not found" in capsys.readouterr().err
