"""Column names that would hold data about people are recognised, ordinary ones are not."""

from __future__ import annotations

import pytest

from crossplan.pipelines.contract.personal import looks_personal


@pytest.mark.parametrize(
    "column",
    ["first_name", "Surname", "victim_age", "passport_no", "cov_nationality", "phone", "suspects"],
)
def test_personal_columns_are_recognised(column: str) -> None:
    assert looks_personal(column)


@pytest.mark.parametrize(
    "column",
    ["region_id", "reported", "detected", "effort", "cov_origin_pressure", "category", "page"],
)
def test_aggregate_columns_are_not(column: str) -> None:
    assert not looks_personal(column)
