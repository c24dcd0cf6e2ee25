"""The map page lists the steps of joint operations among a key's alerts: they name no region,
so they are listed, not drawn, for a party's analyst and for the operator alike."""

from __future__ import annotations

from typing import Any

import pytest

from crossplan.pipelines.database import next_period, utcnow

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_a_partys_analyst_and_the_operator_read_an_operations_steps(page: Any) -> None:
    service = page.service
    assert service.dataset.resources is not None
    candidate = next(j for j in service.dataset.resources.joint_operations if "GRC" in j.countries)
    body = {
        "regions": list(candidate.regions),
        "periods": [next_period("weekly", utcnow()).isoformat()],
        "needs": {c: {"shifts": candidate.min_shifts_per_country} for c in candidate.countries},
        "effort_multiplier": candidate.effort_multiplier,
    }
    made = service.http.post("/operations", json=body, headers=service.bearer("planner"))
    assert made.status_code == 201, made.text
    operation = made.json()["operation_id"]

    for key in ("grc-analyst", "analyst"):  # a party's agency, then the operator
        page.signed_in(key, "regions")
        page.find("#tab-alerts").click()
        page.until(lambda: page.layer() == "alerts", "the alerts on the map")
        step = page.until(
            lambda: page.find_all(f'#alerts li[data-operation-id="{operation}"]'),
            f"the step of {operation} among the alerts",
        )[0]
        assert step.get_attribute("data-kind") == "operation_proposed"
        assert f"Joint operation {operation} — proposed by the operator" in step.text
        names = service.dataset.regions.set_index("region_id")["name"]
        assert "now open" in step.text and names[candidate.regions[0]] in step.text  # by name
        assert page.console_errors() == []
