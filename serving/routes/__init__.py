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
)

__all__ = ["ROUTERS"]

ROUTERS = (
    forecasts.router,
    plans.router,
    data.router,
    submissions.router,
    alerts.router,
    operations.router,
    operation_values.router,
    admin.router,
)
