"""Which stored plans a country lists: the stored countries sift, the reader's check decides."""

from __future__ import annotations

from typing import Any

from crossplan.pipelines.database import Database, PlanRecord, PlanStore


def _record(plan_id: str, country: str | None, countries: tuple[str, ...]) -> PlanRecord:
    return PlanRecord(
        plan_id=plan_id, created_at="2026-03-02T10:00:00.000+00:00", requester="x",
        model_name=None, model_version=None, input_fingerprint="f" * 64, status="optimal",
        objective=1.0, solver="cbc", solve_seconds=0.1, total_seconds=0.2,
        request='{"horizon":1}', response={"plan_id": plan_id}, country=country,
        countries=countries,
    )  # fmt: skip


def test_a_country_lists_its_own_plans_and_those_the_check_accepts(database_url: str) -> None:
    store = PlanStore(Database.connect(database_url))
    # Stored as plans were before involvement was read from the body: every country named.
    everyone = ("ALB", "GRC", "MKD")
    for k in range(7):
        store.add(_record(f"p{k}", "ALB", everyone))
    store.add(_record("mine", "MKD", ("MKD",)))
    store.add(_record("elsewhere", "GRC", ("GRC",)))
    asked: list[str] = []

    def readable(record: PlanRecord) -> bool:
        asked.append(record.plan_id)
        return record.plan_id in {"p1", "p5"}

    listed: Any = store.recent(3, country="MKD", readable=readable)
    assert [s.plan_id for s in listed] == ["mine", "p5", "p1"]  # found beyond the first page
    assert "mine" not in asked and "elsewhere" not in asked  # its own: no check; not named
    assert [s.plan_id for s in store.recent(3)] == ["elsewhere", "mine", "p6"]  # the operator
