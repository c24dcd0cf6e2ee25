"""The forecast table: validation with rows and columns, alignment with the regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossplan.optimize import InputError
from crossplan.optimize.forecast import (
    FORECAST_COLUMNS,
    Forecast,
    forecast_problems,
    table_from_rows,
)

IDS = ("r1", "r2", "r3", "r4")


def _table(forecast_frame) -> pd.DataFrame:
    return forecast_frame({"r1": [1.0, 2.0, 3.0], "r3": [4.0, 5.0, 6.0]})


def _spoil_negative(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[2, "activity_q90"] = -1.0
    return df


def _spoil_order(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "activity_q10"] = df.loc[3, "activity_q90"] + 1.0
    return df


def _spoil_counts_only(df: pd.DataFrame) -> pd.DataFrame:
    df["detection_rate"] = float("nan")
    return df


def _spoil_region(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[1, "region_id"] = "r99"
    return df


def _spoil_duplicate(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[0]]], ignore_index=True)


def _spoil_period(df: pd.DataFrame) -> pd.DataFrame:
    df["period"] = df["period"].astype(str)
    df.loc[0, "period"] = "next week"
    return df


def _spoil_nan(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[4, "detection_rate"] = np.nan
    return df


@pytest.mark.parametrize(
    ("spoil", "where"),
    [
        # a column left out
        (lambda df: df.drop(columns="detection_rate"), "forecast"),
        # a negative quantile, row 3 as the user counts rows
        (_spoil_negative, "forecast, row 3, column 'activity_q90'"),
        # q10 above q90: quantiles out of order
        (_spoil_order, "forecast, row 4"),
        # a count-only model's forecast: one problem for the column, not one per row
        (_spoil_counts_only, "forecast, column 'detection_rate'"),
        # a region the regions file does not have
        (_spoil_region, "forecast, row 2, column 'region_id'"),
        # the same (region, category, period) twice: the copy is row 7
        (_spoil_duplicate, "forecast, row 7"),
        # a period that is not a date
        (_spoil_period, "forecast, row 1, column 'period'"),
        # a missing detection rate
        (_spoil_nan, "forecast, row 5, column 'detection_rate'"),
        # nothing at all
        (lambda df: df.iloc[0:0], "forecast"),
    ],
)
def test_bad_forecast_names_row_and_column(forecast_frame, spoil, where) -> None:
    with pytest.raises(InputError) as err:
        Forecast.from_frame(spoil(_table(forecast_frame)), IDS)
    assert [p.location for p in err.value.problems] == [where]


def test_arrays_follow_the_region_order_and_missing_regions_have_no_activity(
    forecast_frame,
) -> None:
    fc = Forecast.from_frame(_table(forecast_frame), IDS)
    assert fc.activity["mean"].shape == (4, 1, 3)
    assert fc.activity["mean"][:, 0, 1].tolist() == [2.0, 0.0, 5.0, 0.0]
    assert fc.missing_regions == ("r2", "r4")
    assert fc.period_labels == ("2026-03-02", "2026-03-09", "2026-03-16")


def test_horizon_keeps_the_first_periods(forecast_frame) -> None:
    fc = Forecast.from_frame(_table(forecast_frame), IDS, horizon=2)
    assert fc.period_labels == ("2026-03-02", "2026-03-09")
    assert fc.activity[0.9][2, 0].tolist() == [8.0, 10.0]


def test_category_is_optional(forecast_frame) -> None:
    df = _table(forecast_frame).drop(columns="category")
    assert Forecast.from_frame(df, IDS).categories == ("all",)


def test_json_rows_become_the_table_column_by_column() -> None:
    rows = [
        {"region_id": "r1", "period": "2026-03-02", "activity_mean": 2, "activity_q10": 1.0,
         "activity_q50": 2.0, "activity_q90": 3.5, "detection_rate": 0.1},
        {"region_id": "r2", "category": "c", "period": "2026-03-02", "activity_mean": 1.5,
         "activity_q10": 0.5, "activity_q50": 1.5, "activity_q90": 2.5, "detection_rate": 0.2},
    ]  # fmt: skip
    table, problems = table_from_rows(rows)
    assert problems == []
    assert list(table.columns) == list(FORECAST_COLUMNS)
    assert table["category"].tolist() == ["all", "c"]  # as ForecastRow's default
    assert table["activity_mean"].dtype == float and table["activity_mean"].tolist() == [2, 1.5]
    assert forecast_problems(table, ["r1", "r2"]) == []


def test_json_rows_of_the_wrong_types_are_located() -> None:
    good = {"region_id": "r1", "period": "2026-03-02", "activity_mean": 2.0,
            "activity_q10": 1.0, "activity_q50": 2.0, "activity_q90": 3.5,
            "detection_rate": 0.1}  # fmt: skip
    _, problems = table_from_rows([good, {**good, "activity_q10": False}, "row"])
    assert [(p.row, p.field) for p in problems] == [(3, None)]  # structure first
    _, problems = table_from_rows([good, {**good, "activity_q10": False, "region_id": 7}])
    assert [(p.row, p.field) for p in problems] == [(2, "region_id"), (2, "activity_q10")]
