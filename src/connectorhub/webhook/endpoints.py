"""Webhook routes: workspace admins register, edit and delete webhooks, read the delivery log,
redeliver and send a test event. The signing secret is in the create answer only."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from connectorhub.auth.dependencies import AdminContext
from connectorhub.kit.routing import hub_router
from connectorhub.webhook import service
from connectorhub.webhook.schemas import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPatch,
    WebhookRead,
)

router = hub_router(tags=["webhooks"])
NOT_FOUND = {404: {"description": "No such webhook (or delivery) in this workspace"}}
INVALID = {400: {"description": 'URL refused: `{"errors": {"url": [...]}}`'}}


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(context: AdminContext) -> WebhookList:
    return await service.listing(context.scope)


@router.post(
    "/webhooks", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED,
    responses=INVALID,
)  # fmt: skip
async def create_webhook(body: WebhookCreate, context: AdminContext) -> WebhookCreated:
    """Register a URL for events. The answer's `secret` signs every delivery: shown once."""
    return await service.create(context.scope, context.box, body)


@router.get("/webhooks/{webhook_id}", response_model=WebhookRead, responses=NOT_FOUND)
async def get_webhook(webhook_id: uuid.UUID, context: AdminContext) -> WebhookRead:
    return await service.read(context.scope, webhook_id)


@router.patch(
    "/webhooks/{webhook_id}", response_model=WebhookRead, responses={**NOT_FOUND, **INVALID}
)
async def update_webhook(
    webhook_id: uuid.UUID, body: WebhookPatch, context: AdminContext
) -> WebhookRead:
    return await service.update(context.scope, webhook_id, body)


@router.delete(
    "/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND
)
async def delete_webhook(webhook_id: uuid.UUID, context: AdminContext) -> None:
    await service.delete(context.scope, webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage, responses=NOT_FOUND)
async def list_deliveries(
    webhook_id: uuid.UUID,
    context: AdminContext,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """The delivery log, newest first: status, response code, attempt, error."""
    return await service.deliveries(context.scope, webhook_id, page=page, page_size=page_size)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED, responses=NOT_FOUND,
)  # fmt: skip
async def redeliver(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, context: AdminContext
) -> DeliveryRead:
    """Send the delivery's event again (a new delivery, same event id and payload)."""
    return await service.redeliver(context.scope, webhook_id, delivery_id)


@router.post(
    "/webhooks/{webhook_id}/test", response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED, responses=NOT_FOUND,
)  # fmt: skip
async def send_test_event(webhook_id: uuid.UUID, context: AdminContext) -> DeliveryRead:
    """Queue a `webhook.test` event to this webhook."""
    return await service.send_test(context.scope, webhook_id)
