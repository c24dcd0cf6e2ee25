"""Schemathesis against a running ``crossplan serve``, for every operation and role.

Run with ``python -m benchmarks.bench_fuzz [--examples 25] [--home DIR] [--seed N]``. It reads the
service's own OpenAPI document from ``/docs.json`` over HTTP and runs ``--examples`` generated
cases per operation and role (no key, analyst, planner, admin) with the checks of
:mod:`benchmarks.fuzzing` (the suite runs the same on fewer examples), and prints the cases and
failures per operation. It exits 1 when any case failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import schemathesis
from schemathesis.core.result import Err

from benchmarks._table import print_table
from benchmarks.bench_service import bench_setup, serving
from benchmarks.fuzzing import ROLES, bearer, fuzz


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_fuzz")
    parser.add_argument("--examples", type=int, default=25, help="per operation and role")
    parser.add_argument("--home", type=Path, help="reuse this CROSSPLAN_HOME (world + champion)")
    parser.add_argument(
        "--seed", type=int, help="draw the cases with this seed (default: one per operation)"
    )
    args = parser.parse_args(argv)
    rows: list[tuple[str, ...]] = []
    failures: list[str] = []
    total = 0
    with tempfile.TemporaryDirectory(prefix="crossplan-fuzz-") as tmp:
        home, keys, env = bench_setup(Path(tmp), args.home)
        tokens = {role.value: token for role, token in keys.items()}
        with serving(env, home, Path(tmp) / "server.log", tokens["analyst"]) as server:
            schema = schemathesis.openapi.from_url(f"{server.url}/docs.json")
            schema.config.update(base_url=server.url)
            for result in schema.get_all_operations():
                if isinstance(result, Err):
                    failures.append(f"the document: {result.err()}")
                    continue
                operation = result.ok()
                cases, failed = 0, Counter[str]()
                for role in ROLES:
                    fuzzed = fuzz(
                        operation, bearer(tokens, role), args.examples, seed=args.seed, timeout=120
                    )
                    cases += fuzzed.cases
                    failed.update(f.splitlines()[0][:80] for f in fuzzed.failures)
                    failures += [f"{role} {f}" for f in fuzzed.failures]
                total += cases
                kinds = "; ".join(failed)[:70]
                rows.append((operation.label, str(cases), str(failed.total()), kinds))
    rows.append((f"all operations, {len(ROLES)} roles", str(total), str(len(failures)), ""))
    print_table(
        f"schemathesis on crossplan serve's /docs.json, up to {args.examples} cases per "
        "operation and role",
        ("operation", "cases", "failures", "what failed"),
        rows,
    )
    for failure in failures[:10]:
        print(f"\n{failure}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
