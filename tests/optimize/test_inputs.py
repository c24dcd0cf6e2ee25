"""Planning inputs: parsing the resources JSON, validation that lists every problem."""

from __future__ import annotations

from typing import Any

import pytest

from crossplan.optimize import InputError, Inputs, Policy


def test_from_resources_reads_every_part(make_inputs, unit) -> None:
    inputs = make_inputs(
        [unit("A1", "AAA", 5, cost_per_shift=2.0, efficiency=1.2, home_region="r1")],
        {"r1": 1.0, "r3": 2.0},
        agreements=[{"countries": ["AAA", "BBB"], "regions": ["r2", "r3"]}],
        joint_operations=[
            {
                "operation_id": "JO-1",
                "countries": ["AAA", "BBB"],
                "regions": ["r2", "r3"],
                "min_shifts_per_country": 2,
                "effort_multiplier": 1.5,
            }
        ],
        policy={"budget": 9, "min_shifts_per_region": 1, "time_limit_s": 5, "mip_gap": 0.01},
    )
    (u,) = inputs.units
    assert (u.unit_id, u.cost_per_shift, u.efficiency, u.home_region) == ("A1", 2.0, 1.2, "r1")
    assert inputs.agreements[0].regions == ("r2", "r3")
    assert inputs.joint_operations[0].effort_multiplier == 1.5
    assert inputs.policy == Policy(
        budget=9.0, min_shifts_per_region=1, risk_quantile=0.5, time_limit_s=5.0, mip_gap=0.01
    )
    assert inputs.periods == ("2026-03-02",)


def _bad(make_inputs, unit, **change: Any) -> InputError:
    parts: dict[str, Any] = {
        "units": [unit("A1", "AAA", 5, home_region="r1")],
        "activity": {"r1": 1.0},
    }
    parts.update(change)
    with pytest.raises(InputError) as err:
        make_inputs(parts.pop("units"), parts.pop("activity"), **parts)
    return err.value


@pytest.mark.parametrize(
    ("change", "where"),
    [
        # a home region that does not exist
        (
            {
                "units": [
                    {
                        "unit_id": "A1",
                        "agency": "Border Police",
                        "country": "AAA",
                        "shifts_per_period": 3,
                        "home_region": "r9",
                    }
                ]
            },
            ("units[0]", "home_region"),
        ),
        # negative capacity
        (
            {"units": [{"unit_id": "A1", "country": "AAA", "shifts_per_period": -1}]},
            ("units[0].shifts_per_period", "shifts_per_period"),
        ),
        # two units with the same id
        (
            {
                "units": [
                    {"unit_id": "A1", "agency": "BP", "country": "AAA", "shifts_per_period": 1}
                ]
                * 2
            },
            ("units[1]", "unit_id"),
        ),
        # an agreement over an unknown region
        (
            {"agreements": [{"countries": ["AAA", "BBB"], "regions": ["r7"]}]},
            ("agreements[0].regions[0]", "regions"),
        ),
        # a joint operation that would reduce effort
        (
            {
                "joint_operations": [
                    {
                        "operation_id": "J",
                        "countries": ["AAA", "BBB"],
                        "regions": ["r1"],
                        "min_shifts_per_country": 1,
                        "effort_multiplier": 0.5,
                    }
                ]
            },
            ("joint_operations[0].effort_multiplier", "effort_multiplier"),
        ),
        # a quantile the forecast does not carry
        ({"policy": {"risk_quantile": 0.99}}, ("policy.risk_quantile", "risk_quantile")),
        # a share cap above one
        (
            {"policy": {"max_share_per_region": 1.5}},
            ("policy.max_share_per_region", "max_share_per_region"),
        ),
    ],
)
def test_bad_inputs_name_the_place(make_inputs, unit, change, where) -> None:
    err = _bad(make_inputs, unit, **change)
    assert any((p.where, p.field) == where for p in err.problems), err.problems
    assert "fix:" in str(err)


def test_every_problem_is_listed_not_just_the_first(make_inputs) -> None:
    units = [
        {"unit_id": "A1", "country": "AAA", "shifts_per_period": -1, "home_region": "r9"},
        {"unit_id": "A2", "country": "AAA", "shifts_per_period": 2, "efficiency": 0.0},
    ]
    with pytest.raises(InputError) as err:
        make_inputs(units, {"r1": 1.0}, policy={"budget": -3})
    wheres = {p.where for p in err.value.problems}
    assert {"units[0].shifts_per_period", "units[1].efficiency", "policy.budget"} <= wheres


def test_risk_quantile_picks_or_interpolates_the_forecast_column(make_inputs, unit) -> None:
    # conftest's forecast: q10 = λ/2, q50 = λ, q90 = 2λ, mean = λ
    def activity(q: float | None) -> float:
        inputs = make_inputs([unit("A1", "AAA", 1)], {"r1": 4.0}, policy={"risk_quantile": q})
        return float(inputs.activity[0, 0, 0])

    assert activity(0.1) == pytest.approx(2.0)
    assert activity(0.5) == pytest.approx(4.0)
    assert activity(0.9) == pytest.approx(8.0)
    assert activity(0.3) == pytest.approx(3.0)  # halfway between q10 and q50
    assert activity(None) == pytest.approx(4.0)  # the mean


def test_inputs_are_frozen(make_inputs, unit) -> None:
    inputs = make_inputs([unit("A1", "AAA", 1)], {"r1": 1.0})
    with pytest.raises(AttributeError):
        inputs.policy = Policy()  # type: ignore[misc]
    assert isinstance(inputs, Inputs)
