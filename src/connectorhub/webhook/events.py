"""Emitting an event: one delivery row per webhook that asked for it, each sent by a job queued
after the commit that recorded the outcome (dropped with it on rollback).

Domains call `emit` where they record an outcome. Payloads carry ids and outcomes, never
secrets: callers pass ids, statuses and the (already masked) error a run stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.webhook.models import DeliveryStatus, Event, Webhook, WebhookDelivery
from connectorhub.webhook.repository import DeliveryRepository, WebhookRepository
from connectorhub.worker.queue import Job


def delivery_job(tenant_id: str, delivery_id: uuid.UUID, at: datetime | None = None) -> Job:
    kwargs = {"tenant_id": tenant_id, "delivery_id": str(delivery_id)}
    return Job("deliver_webhook", kwargs, lock=f"webhook-delivery:{delivery_id}", at=at)


def payload(
    tenant_id: str, event: str, event_id: uuid.UUID, data: dict[str, Any], at: datetime
) -> dict[str, Any]:
    return {
        "id": str(event_id), "type": event, "created_at": at.isoformat(),
        "workspace": tenant_id, "data": data,
    }  # fmt: skip


def queue_delivery(
    scope: WorkspaceScope, webhook: Webhook, event: str, event_id: uuid.UUID,
    body: dict[str, Any], *, redelivery_of: uuid.UUID | None = None,
) -> WebhookDelivery:  # fmt: skip
    delivery = WebhookDelivery(
        id=uuid.uuid4(), webhook_id=webhook.id, event=event, event_id=event_id, payload=body,
        status=DeliveryStatus.pending.value, attempt=0, redelivery_of=redelivery_of,
    )  # fmt: skip
    DeliveryRepository(scope).add(delivery)
    scope.defer(delivery_job(scope.tenant_id, delivery.id))
    return delivery


async def emit(scope: WorkspaceScope, event: Event, data: dict[str, Any]) -> int:
    """Queue `event` to every active webhook of the workspace that subscribed to it. `data`
    holds ids and outcomes (ids as strings). Returns how many deliveries were queued."""
    webhooks = await WebhookRepository(scope).subscribed(event.value)
    if not webhooks:
        return 0
    event_id, now = uuid.uuid4(), utcnow()
    body = payload(scope.tenant_id, event.value, event_id, data, now)
    for webhook in webhooks:
        queue_delivery(scope, webhook, event.value, event_id, body)
    await scope.session.flush()
    return len(webhooks)


async def connector_status_changed(
    scope: WorkspaceScope, connector: Any, previous: str | None
) -> None:
    """`connector.status_changed` when `connector.status` is no longer `previous`."""
    if previous == connector.status:
        return
    await emit(
        scope, Event.connector_status_changed,
        {
            "connector_id": str(connector.id), "name": connector.name,
            "previous_status": previous, "status": connector.status,
            "reason": connector.status_reason,
        },
    )  # fmt: skip
