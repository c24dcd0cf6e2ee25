"""The HTTP endpoints, one router per resource; :mod:`serving.api` holds what they share."""

from __future__ import annotations

from crossplan.serving.routes import admin, alerts, data, forecasts, operations, plans, submissions

__all__ = ["ROUTERS"]

ROUTERS = (
    forecasts.router,
    plans.router,
    data.router,
    submissions.router,
    alerts.router,
    operations.router,
    admin.router,
)
