"""How the API's routes read a JSON body: a body model may compact it once parsed.

FastAPI parses a JSON body into Python objects and keeps them until the answer is sent. For
``POST /plan`` with forecast rows that is one object per row, about six times the body, held
while the plan waits for a slot and while it runs. :class:`CompactBodyRoute` hands the parsed
body to the body model's ``compact_json`` (:meth:`pipelines.plan_request.PlanRequest.compact_json`)
before FastAPI keeps it, so only the compact form stays. Validation, the OpenAPI document and
every error are FastAPI's, unchanged. (The custom request and route classes are FastAPI's
documented way to change how a body is read.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope

__all__ = ["CompactBodyRoute"]

Compact = Callable[[Any], Any]


class _CompactJSONRequest(Request):
    """A request whose parsed JSON body is compacted once, as it is parsed."""

    def __init__(self, scope: Scope, receive: Receive, compact: Compact) -> None:
        super().__init__(scope, receive)
        self._compact = compact

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = self._compact(json.loads(await self.body()))
        return self._json


class CompactBodyRoute(APIRoute):
    """A route whose body model's ``compact_json``, if it has one, compacts the parsed body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        model = None if self.body_field is None else self.body_field.field_info.annotation
        compact: Compact | None = getattr(model, "compact_json", None)
        if compact is None:
            return handler

        async def compacting_handler(request: Request) -> Response:
            return await handler(_CompactJSONRequest(request.scope, request.receive, compact))

        return compacting_handler
