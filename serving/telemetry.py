"""Prometheus metrics of the planning service, next to BentoML's own on ``/metrics``.

They are created on first use, inside the worker: BentoML points ``prometheus_client`` at its
multi-process directory only after the service module is imported, and metrics made before
that would never reach ``/metrics``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

__all__ = ["Metrics", "metrics"]


@dataclass(frozen=True)
class Metrics:
    """The service's own metrics."""

    plans: Any
    solve_seconds: Any
    model_info: Any
    auth_failures: Any

    def show_model(self, new: dict[str, str] | None, old: dict[str, str] | None) -> None:
        """Point the model gauge at the ``new`` labels, clearing ``old``."""
        if old is not None and old != new:
            self.model_info.labels(**old).set(0)
        if new is not None:
            self.model_info.labels(**new).set(1)


@functools.cache
def metrics() -> Metrics:
    """The metrics, created on the first call."""
    import prometheus_client as prom

    return Metrics(
        plans=prom.Counter(
            "crossplan_plans",
            "Plans made, by solver status and solver",
            ["status", "solver"],
        ),
        solve_seconds=prom.Histogram(
            "crossplan_plan_solve_seconds",
            "Solver time per plan",
            ["solver"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
        ),
        model_info=prom.Gauge(
            "crossplan_model_info",
            "1 for the served model (labels: name, version, source, degraded), 0 for earlier ones",
            ["name", "version", "source", "degraded"],
            multiprocess_mode="livemostrecent",
        ),
        auth_failures=prom.Counter(
            "crossplan_auth_failures",
            "Requests refused: missing or unknown key (401), role not allowed (403)",
            ["status"],
        ),
    )
