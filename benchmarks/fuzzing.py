"""Schemathesis over the service's own OpenAPI document, one operation and role at a time.

Not a benchmark itself: shared by the suite (``tests/serving/test_schema_fuzz.py``, a few
cases per operation and role) and the benchmark (``python -m benchmarks.bench_fuzz``, a
thousand and more on a running ``crossplan serve``).

Every schemathesis check runs but two. "Positive data acceptance": a schema-valid body may
still not fit the served data (an unknown region, a horizon beyond the model's), which is a
documented 400. "Ignored authentication", for a role with a key: a case drawn with broken
credentials is sent with the role's valid key, so its answer is expected; the no-key role
keeps the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

ROLES = (None, "reporter", "analyst", "planner", "admin")


@dataclass
class Fuzzed:
    """What one operation answered: the cases run and every failure, described."""

    cases: int = 0
    failures: list[str] = field(default_factory=list)


def fuzz(
    operation: Any,
    headers: dict[str, str],
    examples: int,
    *,
    seed: int | None = None,
    timeout: float | None = None,
) -> Fuzzed:
    """Run ``examples`` generated cases of ``operation`` with ``headers``; collect failures.

    Cases are valid requests and invalid ones (schemathesis's positive and negative modes),
    drawn with a fixed seed: ``seed``, else one derived from the operation (``derandomize``).
    A failure does not stop the run: every case is tried, so the count is a count.
    """
    result = Fuzzed()
    call: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    # A case drawn with broken credentials is sent with the role's valid key: that it is
    # then answered is the point, not the "ignored authentication" schemathesis would see.
    excluded = [positive_data_acceptance, *([ignored_auth] if headers else [])]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=examples,
        derandomize=seed is None,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        result.cases += 1
        case.headers = {**(case.headers or {}), **headers}
        try:
            case.call_and_validate(excluded_checks=excluded, **call)
        # Collect every failure, then report them all; schemathesis raises its checks'
        # failures as a BaseExceptionGroup, which is no Exception.
        except (Exception, BaseExceptionGroup) as err:
            result.failures.append(f"{operation.label}: {str(err)[:3000]}")

    if seed is not None:
        check = hypothesis.seed(seed)(check)
    check()
    return result


def bearer(tokens: dict[str, str], role: str | None) -> dict[str, str]:
    """The headers of ``role`` (none without a role)."""
    return {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
