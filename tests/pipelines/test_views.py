"""The one rule of a country's view: its own regions and those its agreements cover."""

from __future__ import annotations

import pandas as pd
import pytest

from crossplan.optimize.resources import Resources
from crossplan.pipelines.views import region_level

REGIONS = pd.DataFrame(
    {
        "region_id": ["a1", "a2", "b1", "b2", "c1"],
        "country": ["AAA", "AAA", "BBB", "BBB", "CCC"],
    }
)
RESOURCES = Resources.model_validate(
    {
        "units": [{"unit_id": "A-1", "agency": "Police", "country": "AAA", "shifts_per_period": 5}],
        "agreements": [{"countries": ["AAA", "BBB"], "regions": ["a2", "b1"]}],
    }
)


@pytest.mark.parametrize(
    ("country", "resources", "expected"),
    [
        ("AAA", RESOURCES, {"a1", "a2", "b1"}),  # its own and the agreement's
        ("BBB", RESOURCES, {"a2", "b1", "b2"}),  # the partner reads the same shared regions
        ("CCC", RESOURCES, {"c1"}),  # party to no agreement: its own only
        ("AAA", None, {"a1", "a2"}),  # no resources, no agreement
    ],
)
def test_a_country_reads_its_regions_and_its_agreements(
    country: str, resources: Resources | None, expected: set[str]
) -> None:
    assert region_level(REGIONS, resources, country) == expected
