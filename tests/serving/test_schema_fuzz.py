"""Schemathesis against the service's own OpenAPI document (``/docs.json``), for every
operation and every role (no key, reporter, analyst, planner, admin): no 5xx, every
answer's status, media type, headers and body as documented, every check but the two
:mod:`benchmarks.fuzzing` explains.

Two kinds of cases, as ``schemathesis run`` draws them:

* schemathesis's coverage phase: the document's examples, then, for each parameter and
  body field, its boundary values and values it refuses (an empty value, a wrong type, a
  parameter the operation does not take, a required header left out, a method the path does
  not take, ``OPTIONS``). These are fixed cases, a few dozen per operation: the suite runs
  them with an admin's key (every operation reads its input), every role with
  ``CROSSPLAN_FUZZ_COVERAGE=all``.
* generated requests, valid and invalid (:func:`benchmarks.fuzzing.fuzz`):
  ``CROSSPLAN_FUZZ_EXAMPLES`` per operation and role (default 3).

The suite runs about 1,200 cases (300 generated) in some 20 s of calls;
``CROSSPLAN_FUZZ_COVERAGE=all CROSSPLAN_FUZZ_EXAMPLES=25`` runs over 6,000, and
``python -m benchmarks.bench_fuzz`` generated ones on a running ``crossplan serve``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    missing_required_header,
    positive_data_acceptance,
)
from starlette.testclient import TestClient

from benchmarks.fuzzing import ROLES, Fuzzed, bearer, fuzz

EXAMPLES = int(os.environ.get("CROSSPLAN_FUZZ_EXAMPLES", "3"))
# Roles the coverage phase runs for: an admin's key reaches every operation's validation
# (without a key, or with a role's that may not, most cases meet 401 or 403 first, which
# the generated cases check for every role).
COVERED = ROLES if os.environ.get("CROSSPLAN_FUZZ_COVERAGE") == "all" else ("admin",)


@pytest.fixture(scope="module")
def fuzzed(
    shared: tuple[TestClient, dict[str, str]], asgi_app: Any
) -> Iterator[tuple[Any, dict[str, str]]]:
    _, tokens = shared  # the service runs (its lifespan) while schemathesis calls the app
    yield schemathesis.openapi.from_asgi("/docs.json", asgi_app), tokens


def cover(operation: Any, headers: dict[str, str]) -> tuple[Fuzzed, int]:
    """Run schemathesis's coverage phase of ``operation`` with ``headers``; what it answered,
    and how many answers were server errors (a 5xx, or an exception out of the app).

    A case that leaves the key out, or breaks it, is sent with ``headers``' key: the
    "missing required header" and "ignored authentication" checks are for the no-key role.
    """
    result, server_errors = Fuzzed(), 0
    excluded: list[Any] = [positive_data_acceptance]
    if headers:
        excluded += [ignored_auth, missing_required_header]

    def check(case: Any) -> None:
        nonlocal server_errors
        result.cases += 1
        case.headers = {**(case.headers or {}), **headers}
        try:
            response = case.call()
        except Exception as err:  # in process, the app's exception reaches the caller
            server_errors += 1
            result.failures.append(f"{operation.label} {case.method}: {type(err).__name__}")
            return
        server_errors += response.status_code >= 500
        try:
            case.validate_response(response, excluded_checks=excluded)
        # schemathesis raises its checks' failures as a BaseExceptionGroup, no Exception.
        except (Exception, BaseExceptionGroup) as err:
            result.failures.append(f"{operation.label} {case.method}: {str(err)[:3000]}")

    test = create_test(
        operation=operation,
        test_func=check,
        config=HypothesisTestConfig(
            project=operation.schema.config,
            modes=[HypothesisTestMode.EXAMPLES, HypothesisTestMode.COVERAGE],
            settings=settings(
                phases=[Phase.explicit],  # the coverage cases are explicit examples
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        ),
    )
    test()
    return result, server_errors


def test_every_operation_for_every_role_answers_as_documented(
    fuzzed: tuple[Any, dict[str, str]],
) -> None:
    schema, tokens = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    cases, server_errors, failures = 0, 0, []
    for operation in operations:
        for role in ROLES:
            headers = bearer(tokens, role)
            generated = fuzz(operation, headers, EXAMPLES)
            assert generated.cases > 0, f"no case of {operation.label} ran"
            cases += generated.cases
            failures += [f"{role} {failure}" for failure in generated.failures]
            server_errors += sum("Server error" in f for f in generated.failures)
            if role in COVERED:
                covered, errors = cover(operation, headers)
                assert covered.cases > 0, f"no coverage case of {operation.label} ran"
                cases += covered.cases
                server_errors += errors
                failures += [f"{role} {failure}" for failure in covered.failures]
    summary = f"{cases} cases: {server_errors} server errors, {len(failures)} failures"
    assert not failures, summary + "\n\n" + "\n\n".join(failures[:20])
    print(summary)
