"""The HTTP endpoints, one router per resource; :mod:`serving.api` holds what they share."""

from __future__ import annotations

from crossplan.serving.routes import (
    admin,
    alerts,
    data,
    forecasts,
    operation_values,
    operations,
    plans,
    submissions,
    taskings,
)

__all__ = ["ROUTERS"]

# ``/plans/diff`` comes before ``/plans/{plan_id}``, which would take "diff" for an id.
ROUTERS = (
    forecasts.router,
    taskings.router,
    plans.router,
    data.router,
    submissions.router,
    alerts.router,
    operations.router,
    operation_values.router,
    admin.router,
)
