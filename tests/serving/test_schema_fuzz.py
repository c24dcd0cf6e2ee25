"""Schemathesis against the service's own OpenAPI document (``/docs.json``), for every
operation and every role: no 5xx, every answer's status, media type, headers and body as
documented (:mod:`benchmarks.fuzzing`).

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
from starlette.testclient import TestClient

from benchmarks.fuzzing import ROLES, bearer, fuzz

EXAMPLES = int(os.environ.get("CROSSPLAN_FUZZ_EXAMPLES", "8"))


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
            result = fuzz(operation, bearer(tokens, role), EXAMPLES)
            assert result.cases > 0, f"no case of {operation.label} ran"
            failures += [f"{role} {failure}" for failure in result.failures]
    assert not failures, "\n\n".join(failures[:20])
