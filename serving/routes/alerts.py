"""Alerts and the webhooks that carry them, as the key's agency may read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from crossplan.pipelines.database import list_alerts
from crossplan.serving.api import BAD_REQUEST, ERRORS
from crossplan.serving.deps import Anyone, Reader, ServiceDep
from crossplan.serving.schemas import (
    AlertItem,
    AlertList,
    ErrorBody,
    WebhookItem,
    WebhookList,
    WebhookRequest,
)
from crossplan.serving.sharing import Audience
from crossplan.serving.webhook_registry import add_webhook, delete_webhook, list_webhooks

__all__ = ["router"]

router = APIRouter(tags=["alerts"])


@router.get(
    "/alerts",
    response_model=AlertList,
    responses=ERRORS,
    summary="Risk alerts raised on this key's view, for the regions it reads region by "
    "region, and the steps of the joint operations its country is party to",
)
def alerts(
    who: Anyone,
    svc: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many alerts")] = 100,
) -> AlertList:
    found = list_alerts(svc.db, Audience.of(who), limit)
    return AlertList(alerts=[AlertItem(**a.to_dict()) for a in found])


@router.post(
    "/webhooks",
    response_model=WebhookItem,
    responses={**ERRORS, **BAD_REQUEST},
    summary="Post this agency's alerts to an https URL, signed when a secret is given",
)
def register_webhook(body: WebhookRequest, who: Reader, svc: ServiceDep) -> WebhookItem:
    hook = add_webhook(svc.db, who, body.url, secret=body.secret, allow=svc.settings.webhook_allow)
    return WebhookItem(**hook.to_dict())


@router.get(
    "/webhooks",
    response_model=WebhookList,
    responses=ERRORS,
    summary="This agency's webhooks, every agency's for an operator key; URLs without "
    "their secrets",
)
def webhook_list(who: Reader, svc: ServiceDep) -> WebhookList:
    return WebhookList(
        webhooks=[WebhookItem(**hook.to_dict()) for hook in list_webhooks(svc.db, who)]
    )


@router.delete(
    "/webhooks/{webhook_id}",
    response_model=WebhookItem,
    responses={
        **ERRORS,
        404: {"model": ErrorBody, "description": "This agency has no webhook with this id"},
    },
    summary="Stop posting to a webhook of this agency; an admin's key, to any",
)
def remove_webhook(
    webhook_id: Annotated[int, Path(ge=1, description="The webhook's id (GET /webhooks)")],
    who: Reader,
    svc: ServiceDep,
) -> WebhookItem:
    return WebhookItem(**delete_webhook(svc.db, who, webhook_id).to_dict())
