"""Schemathesis against the service's own OpenAPI document (``/docs.json``), for every
operation and every role: no 5xx, every answer's status, media type, headers and body as
documented. A schema-valid body may still be refused with a documented 400 when it does
not fit the served data (an unknown region, a horizon beyond the model's), so schemathesis's
"positive data acceptance" check is left out; every other check runs.

The number of examples is bounded so the suite stays quick (``CROSSPLAN_FUZZ_EXAMPLES``
per operation and role, default 8); ``python -m benchmarks.bench_fuzz`` runs a thousand and
more on a running service.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.testclient import TestClient

EXAMPLES = int(os.environ.get("CROSSPLAN_FUZZ_EXAMPLES", "8"))
ROLES = (None, "analyst", "planner", "admin")


@pytest.fixture(scope="module")
def fuzzed(
    shared: tuple[TestClient, dict[str, str]], asgi_app: Any
) -> Iterator[tuple[Any, dict[str, str]]]:
    _, tokens = shared  # the service runs (its lifespan) while schemathesis calls the app
    yield schemathesis.openapi.from_asgi("/docs.json", asgi_app), tokens


def test_every_operation_for_every_role_answers_as_documented(
    fuzzed: tuple[Any, dict[str, str]],
) -> None:
    schema, tokens = fuzzed
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        for role in ROLES:
            headers = {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
            _fuzz(operation, headers, f"{role} {operation.label}", failures)
    assert not failures, "\n\n".join(failures[:20])


def _fuzz(operation: Any, headers: dict[str, str], label: str, failures: list[str]) -> None:
    """Run :data:`EXAMPLES` cases of ``operation`` with ``headers``; note every failure."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}
        try:
            case.call_and_validate(excluded_checks=[positive_data_acceptance])
        except Exception as err:  # collect every failure, then report them all
            failures.append(f"{label}: {str(err)[:600]}")

    check()
