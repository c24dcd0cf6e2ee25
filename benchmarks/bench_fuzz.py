"""Schemathesis against a running ``crossplan serve``, for every operation and role.

Run with ``python -m benchmarks.bench_fuzz [--examples 25] [--home DIR]``. It reads the
service's own OpenAPI document from ``/docs.json`` over HTTP and runs ``--examples`` generated
cases per operation and role (no key, analyst, planner, admin) with every schemathesis check
but "positive data acceptance" (a schema-valid body may still not fit the served data, which
is a documented 400), and prints the cases and failures per operation. The test suite runs
the same checks on fewer examples (``tests/serving/test_schema_fuzz.py``).
"""

from __future__ import annotations

import argparse
import signal
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from benchmarks._table import print_table
from benchmarks.bench_hardening import _env, start
from benchmarks.bench_service import _free_port, prepare
from serving.auth import KeysFile, Role, add_key


def fuzz(operation: Any, headers: dict[str, str], examples: int, failures: Counter[str]) -> int:
    """Run ``examples`` cases of ``operation``; count failures by their title; cases run."""
    cases = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        nonlocal cases
        cases += 1
        case.headers = {**(case.headers or {}), **headers}
        try:
            case.call_and_validate(excluded_checks=[positive_data_acceptance], timeout=120)
        except Exception as err:
            failures[str(err).strip().splitlines()[0][:80]] += 1

    check()
    return cases


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_fuzz")
    parser.add_argument("--examples", type=int, default=25, help="per operation and role")
    parser.add_argument("--home", type=Path, help="reuse this CROSSPLAN_HOME (world + champion)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crossplan-fuzz-") as tmp:
        home = (args.home or Path(tmp) / "home").resolve()
        prepare(home)
        keys = KeysFile(Path(tmp) / "bench_keys.json")
        tokens = {role: add_key(keys, role.value, role) for role in Role}
        server, _ = start(_env(home, keys.path), home, _free_port(), Path(tmp) / "server.log")
        try:
            schema = schemathesis.openapi.from_url(f"{server.url}/docs.json")
            schema.config.update(base_url=server.url)
            rows, total, failed = [], 0, 0
            for result in schema.get_all_operations():
                operation = result.ok()
                cases, failures = 0, Counter[str]()
                for role in (None, *tokens):
                    headers = {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
                    cases += fuzz(operation, headers, args.examples, failures)
                n = sum(failures.values())
                total, failed = total + cases, failed + n
                rows.append((operation.label, str(cases), str(n), "; ".join(failures)[:70]))
        finally:
            server.proc.send_signal(signal.SIGTERM)
            server.proc.wait(timeout=120)
    rows.append(("all operations, 4 roles", str(total), str(failed), ""))
    print_table(
        f"schemathesis on crossplan serve's /docs.json, up to {args.examples} cases per "
        "operation and role",
        ("operation", "cases", "failures", "what failed"),
        rows,
    )


if __name__ == "__main__":
    main()
