"""One reader of forecast files, for ``crossplan plan --forecast`` and a service's
``CROSSPLAN_FORECAST_FILE``: the same file gets the same error through either door."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crossplan.pipelines.contract.forecast_table import read_forecast_table
from crossplan.pipelines.errors import ConfigurationError, DataValidationError
from crossplan.serving.served_model import ForecastFile


@pytest.mark.parametrize(
    ("name", "content", "error", "says"),
    [
        ("missing.csv", None, ConfigurationError, "forecast file not found"),  # a typo
        ("forecast.txt", b"a,b\n", ConfigurationError, "give a .csv or .parquet"),  # a format
        ("forecast.parquet", b"not parquet", DataValidationError, "cannot read the file"),
    ],
)
def test_a_bad_forecast_file_is_refused_saying_why(
    tmp_path: Path, name: str, content: bytes | None, error: type[Exception], says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=says):
        read_forecast_table(path)
    # the service's setting says the same, as a configuration error naming the file
    with pytest.raises(ConfigurationError, match=says) as info:
        ForecastFile(path)
    assert path.name in str(info.value)


def test_a_table_is_read_as_written(tmp_path: Path) -> None:
    table = pd.DataFrame({"region_id": ["r001"], "period": ["2024-01-01"], "activity_mean": [1.5]})
    table.to_csv(tmp_path / "f.csv", index=False)
    pd.testing.assert_frame_equal(read_forecast_table(tmp_path / "f.csv"), table)
