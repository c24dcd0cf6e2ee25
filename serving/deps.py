"""What an endpoint may ask for: the caller, the service, the snapshot and the caller's policy.

An endpoint names what it needs in its signature, as ``Annotated[X, Depends(...)]`` types,
and FastAPI gives it: the caller, checked for a permission (:data:`Anyone`, :data:`Reporter`,
:data:`Reader`, :data:`Planner`, :data:`Admin`), the service instance answering the request
(:data:`ServiceDep`), the snapshot it answers from (:data:`SnapshotDep`) and what the caller
may read of it (:data:`PolicyDep`). FastAPI solves each once per request, so an endpoint that
takes the snapshot and the policy gets a policy of that very snapshot. Tests may replace any
of them with ``app.dependency_overrides``.

The service instance reaches the app through its state (:func:`attach`): the service puts
itself there when it starts, and the app holds it weakly, so the instance lives as long as
BentoML keeps it. Endpoints know the service only as :class:`Service`, what they use of it:
this module imports neither the service nor the app, and nothing here imports an endpoint.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.applications import Starlette

from crossplan.pipelines.database import AlertRecord, Database, PlanStore
from crossplan.serving.auth import KeyStore, Permission, Principal, Role, roles_with
from crossplan.serving.outbox import OutboxWorker
from crossplan.serving.plan_process import PlanGate
from crossplan.serving.schemas import ReloadResponse
from crossplan.serving.settings import Settings
from crossplan.serving.sharing import Audience, SharingPolicy
from crossplan.serving.snapshot import Snapshot
from crossplan.serving.telemetry import metrics

__all__ = [
    "Admin",
    "Anyone",
    "Planner",
    "PolicyDep",
    "Reader",
    "Reporter",
    "Service",
    "ServiceDep",
    "SnapshotDep",
    "attach",
    "get_policy",
    "get_service",
    "get_snapshot",
    "require",
    "roles_of",
    "service_of",
]


class Service(Protocol):
    """What the endpoints use of the service (:class:`serving.service.CrossplanService`)."""

    db: Database
    settings: Settings
    keys: KeyStore
    store: PlanStore
    plan_gate: PlanGate
    outbox: OutboxWorker

    def current(self) -> Snapshot: ...

    def announce(self, alerts: list[AlertRecord]) -> None: ...

    def reload(self, who: Principal) -> ReloadResponse: ...


def attach(app: Starlette, service: Service) -> None:
    """Make ``service`` the one that answers ``app``'s requests (held weakly)."""
    app.state.service = weakref.ref(service)


def service_of(app: Any) -> Service:
    """The service instance attached to ``app`` (for its middleware, which has no
    dependencies).

    Raises
    ------
    RuntimeError
        No service instance is running.
    """
    ref = getattr(app.state, "service", None)
    found: Service | None = None if ref is None else ref()
    if found is None:
        raise RuntimeError("no service instance is running")
    return found


def get_service(request: Request) -> Service:
    """The service instance answering ``request``."""
    return service_of(request.app)


ServiceDep = Annotated[Service, Depends(get_service)]

_bearer = HTTPBearer(auto_error=False, description="An API key from `crossplan keys add`")


class _Require:
    """A dependency giving the caller, or 403 when their role may not :attr:`permission`
    (``None``: any valid key). What the API's document says of an endpoint's roles is read
    from it (:func:`roles_of`)."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    async def __call__(self, request: Request, _: Annotated[Any, Depends(_bearer)]) -> Principal:
        principal: Principal = request.user  # set by the authentication middleware
        permission = self.permission
        if permission is not None and permission.value not in request.auth.scopes:
            metrics().auth_failures.labels(status="403").inc()
            raise HTTPException(
                403, f"the key of '{principal.name}' ({principal.role}) may not {permission.value}"
            )
        return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller, or 403 when their role may not ``permission``."""
    return _Require(permission)


_anyone = _Require(None)


def roles_of(route: APIRoute) -> list[Role] | None:
    """The roles whose keys may call ``route``: those every permission dependency it (or a
    dependency of it) names lets through; ``None`` for a route behind no key."""
    pending, allowed = [route.dependant], None
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, _Require):
            roles = roles_with(dependant.call.permission)
            allowed = roles if allowed is None else [r for r in allowed if r in roles]
        pending.extend(dependant.dependencies)
    return allowed


Anyone = Annotated[Principal, Depends(_anyone)]
Reporter = Annotated[Principal, Depends(require(Permission.SUBMIT))]
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Planner = Annotated[Principal, Depends(require(Permission.PLAN))]
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]


def get_snapshot(svc: ServiceDep) -> Snapshot:
    """The snapshot the request is answered from: the database's latest panel (a plain
    function: FastAPI runs it off the event loop, as it may read the database)."""
    return svc.current()


SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]


def get_policy(who: Anyone, snapshot: SnapshotDep, svc: ServiceDep) -> SharingPolicy:
    """What the caller may read of the request's snapshot. (The caller's permission is the
    endpoint's to check: it names its role before the policy.)"""
    s = svc.settings
    return SharingPolicy(snapshot.panel, Audience.of(who), s.suppress_below, s.min_total)


PolicyDep = Annotated[SharingPolicy, Depends(get_policy)]
