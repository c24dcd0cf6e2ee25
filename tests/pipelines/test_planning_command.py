"""The planning use-case plans for whoever asks: the units it commands, the effort others
have committed as fixed and read-only, and both in the input fingerprint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crossplan.optimize.command import Command, FixedEffort
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.operations import ConfirmedOperation
from crossplan.pipelines.plan_request import PlanRequest
from crossplan.pipelines.plan_use_case import PlanEnvelope, make_plan

GRC = Command(country="GRC", scope="national")


@pytest.fixture(scope="module")
def forecast(tiny_world_dir: Path) -> pd.DataFrame:
    """The tiny world's last true rates, for the two weeks after its panel."""
    truth = pd.read_parquet(tiny_world_dir / "truth.parquet")
    last = truth[truth["period"] == truth["period"].max()]
    rate = last["activity_rate"]
    return pd.concat(
        [
            last[["region_id", "category"]].assign(
                period=truth["period"].max() + pd.Timedelta(weeks=k),
                activity_mean=rate,
                activity_q10=0.6 * rate,
                activity_q50=rate,
                activity_q90=1.6 * rate,
                detection_rate=0.2,
            )
            for k in (1, 2)
        ],
        ignore_index=True,
    )


def _plan(dataset: Dataset, forecast: pd.DataFrame, **given: Any) -> PlanEnvelope:
    request = PlanRequest(horizon=2)
    return make_plan(request, dataset, None, data_fingerprint="f", forecast=forecast, **given)


def test_a_pledge_is_counted_read_only_and_in_the_fingerprint(
    tiny_dataset: Dataset, forecast: pd.DataFrame
) -> None:
    operator = _plan(tiny_dataset, forecast)
    assert _plan(tiny_dataset, forecast, command=Command()).input_fingerprint == (
        operator.input_fingerprint
    )
    alone = _plan(tiny_dataset, forecast, command=GRC)
    period = alone.periods[0]
    pledge = FixedEffort(
        region_id="r001", period=dt.date.fromisoformat(period), country="MKD",
        agency="Border Police", shifts=6,
        source="JO-1 pledge",
    )  # fmt: skip
    pledged = _plan(tiny_dataset, forecast, command=GRC, fixed_effort=[pledge])
    fingerprints = {p.input_fingerprint for p in (operator, alone, pledged)}
    assert len(fingerprints) == 3  # who plans, and what is fixed, make another plan
    body = pledged.to_dict()
    assert body["fixed_effort"] == [pledge.model_dump(mode="json")]
    assert {a["unit_id"][:3] for a in body["assignments"]} == {"GRC"}
    jo1 = {s["period"]: s for o in body["joint_operations"] if o["operation_id"] == "JO-1"
           for s in o["periods"]}  # fmt: skip
    assert list(jo1) == body["periods"]  # one entry for the operation, each week in it
    assert jo1[period]["commitments"]["MKD"] == 6  # MKD's part, as pledged
    assert jo1[period]["status"] == "launched", jo1[period]["reason"]
    later = [s for p, s in jo1.items() if p != period]
    assert later and all(s["status"] == "not launched" for s in later)  # pledged for one week
    r001 = {r["period"]: r["effort"] for r in body["regions"] if r["region_id"] == "r001"}
    assert r001[period] >= 6 * 1.5  # the pledge, boosted by the launched operation


def test_a_candidate_shadowed_by_another_confirmed_operation_is_a_warning_of_the_plan(
    tiny_dataset: Dataset, forecast: pd.DataFrame
) -> None:
    period = str(_plan(tiny_dataset, forecast).periods[0])
    stored = ConfirmedOperation(
        operation_id="JO-1", regions=("r004", "r007"), periods=(period,), effort_multiplier=1.5,
        parties=("GRC", "MKD"), pledges={}, needs={"GRC": 4, "MKD": 4},
    )  # fmt: skip
    plan = _plan(tiny_dataset, forecast, operations=[stored])
    assert any(
        w.startswith("candidate operation JO-1 of the resources is not planned")
        for w in plan.warnings
    )
    # The candidate as it was agreed, in regions too: no warning.
    same = ConfirmedOperation(**{**stored.__dict__, "regions": ("r001", "r004", "r007")})
    assert not any(
        "not planned" in w for w in _plan(tiny_dataset, forecast, operations=[same]).warnings
    )
