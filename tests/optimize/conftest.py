"""Fixtures of the optimizer tests: hand-made tiny instances and the installed solvers.

Four regions on a line at 45°N, about 39 km apart: ``r1``, ``r2`` in country AAA and
``r3``, ``r4`` in country BBB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import pytest

from crossplan.optimize import Inputs

REGIONS = pd.DataFrame(
    {
        "region_id": ["r1", "r2", "r3", "r4"],
        "country": ["AAA", "AAA", "BBB", "BBB"],
        "lon": [20.0, 20.5, 21.0, 21.5],
        "lat": [45.0, 45.0, 45.0, 45.0],
    }
)

# CBC is bundled with PuLP; HiGHS comes with highspy, a dependency.
SOLVERS = ["cbc", "highs"]

MakeInputs = Callable[..., Inputs]


@pytest.fixture(params=SOLVERS)
def solver(request: pytest.FixtureRequest) -> str:
    """Each solver in turn."""
    return str(request.param)


def _forecast_frame(
    activity: Mapping[str, float | Sequence[float]],
    *,
    kappa: float | Mapping[str, float] = 0.3,
    categories: Sequence[str] = ("all",),
    start: str = "2026-03-02",
) -> pd.DataFrame:
    """A forecast table: ``activity[region]`` per period (a number: one period).

    Each category gets the activity divided evenly; ``kappa`` may differ by category.
    """
    rows = []
    for region, values in activity.items():
        series = [values] if isinstance(values, (int, float)) else list(values)
        for t, value in enumerate(series):
            for c in categories:
                k = kappa[c] if isinstance(kappa, Mapping) else kappa
                lam = float(value) / len(categories)
                rows.append(
                    {
                        "region_id": region,
                        "category": c,
                        "period": pd.Timestamp(start) + pd.Timedelta(weeks=t),
                        "activity_mean": lam,
                        "activity_q10": 0.5 * lam,
                        "activity_q50": lam,
                        "activity_q90": 2.0 * lam,
                        "detection_rate": k,
                    }
                )
    return pd.DataFrame(rows)


def _unit(unit_id: str, country: str, shifts: int, **extra: Any) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "agency": "Border Police",
        "country": country,
        "shifts_per_period": shifts,
        **extra,
    }


@pytest.fixture
def unit() -> Callable[..., dict[str, Any]]:
    """``unit(unit_id, country, shifts, **fields)``: a unit of the resources JSON."""
    return _unit


@pytest.fixture
def forecast_frame() -> Callable[..., pd.DataFrame]:
    """``forecast_frame(activity, kappa=, categories=)``: a forecast table."""
    return _forecast_frame


@pytest.fixture
def make_inputs() -> MakeInputs:
    """Build :class:`Inputs` from resources parts and ``activity`` per region."""

    def make(
        units: Sequence[dict[str, Any]],
        activity: Mapping[str, float | Sequence[float]],
        *,
        agreements: Sequence[dict[str, Any]] = (),
        joint_operations: Sequence[dict[str, Any]] = (),
        policy: Mapping[str, Any] | None = None,
        kappa: float | Mapping[str, float] = 0.3,
        categories: Sequence[str] = ("all",),
        regions: pd.DataFrame = REGIONS,
        recent_counts: Mapping[str, float] | None = None,
    ) -> Inputs:
        resources = {
            "units": list(units),
            "agreements": list(agreements),
            "joint_operations": list(joint_operations),
            "policy": dict(policy or {}),
        }
        forecast = _forecast_frame(activity, kappa=kappa, categories=categories)
        return Inputs.from_resources(resources, regions, forecast, recent_counts)

    return make


@pytest.fixture
def regions() -> pd.DataFrame:
    """The four regions of the hand-made instances."""
    return REGIONS.copy()
