"""A forecast row's period must be a date: anything else JSON or a Parquet file can hold (an
object, a list, a number, true) is a located 400 over HTTP and exit 2 on the command line,
never a 500 or a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.serving.cli import main

_ROW = {
    "region_id": "r002",
    "category": "smuggling_of_migrants",
    "activity_mean": 1.0,
    "activity_q10": 0.5,
    "activity_q50": 1.0,
    "activity_q90": 2.0,
    "detection_rate": 0.1,
}


@pytest.mark.parametrize(
    "period",
    [
        {},  # an object
        {"date": "2024-03-04"},  # an object holding a date
        [],  # a list
        ["2024-03-04"],  # a list holding a date
        5,  # a number
        20240304.0,  # a number that reads like a date
        True,  # a boolean
    ],
)
def test_a_period_that_is_no_date_is_a_located_400(
    client: TestClient, served: dict[str, str], period: Any
) -> None:
    good = {**_ROW, "period": "2024-03-04"}
    body = {"horizon": 1, "forecast": [good, {**_ROW, "period": period}]}
    r = client.post("/plan", json=body, headers={"Authorization": f"Bearer {served['planner']}"})
    assert r.status_code == 400, r.text
    (problem,) = r.json()["problems"]
    assert problem["field"] == "forecast[1].period"
    assert "must be a date (YYYY-MM-DD)" in problem["message"]


@pytest.mark.parametrize(
    "period",
    [
        [{"y": 2024}],  # a Parquet struct
        [20240304],  # a number
    ],
)
def test_a_forecast_file_whose_period_is_no_date_exits_2(
    tiny_world_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], period: list[Any]
) -> None:
    path = tmp_path / "forecast.parquet"
    pd.DataFrame([{**_ROW, "period": period[0]}]).to_parquet(path)
    assert main(["plan", "--data", str(tiny_world_dir), "--forecast", str(path)]) == 2
    assert "forecast.parquet, row 1, column 'period': must be a date" in capsys.readouterr().err
