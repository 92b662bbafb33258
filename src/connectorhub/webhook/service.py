"""Webhook rules: register (the secret shown once), list, edit, delete, the delivery log,
redeliver and a test event. Deliveries themselves are sent by tasks.py."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from connectorhub.audit import service as audit
from connectorhub.exceptions import NotFound, ValidationFailed
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import merge_secrets
from connectorhub.webhook import signing
from connectorhub.webhook.events import payload, queue_delivery
from connectorhub.webhook.models import TEST_EVENT, Webhook, WebhookDelivery
from connectorhub.webhook.repository import DeliveryRepository, WebhookRepository
from connectorhub.webhook.schemas import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPatch,
    WebhookRead,
)

TABLE = Webhook.__tablename__


def _check_url(url: str) -> str:
    """http(s) with a host and no credentials in it. Where it points is checked by the SSRF
    guard at each delivery (a name may resolve elsewhere later)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValidationFailed({"url": ["Not a valid URL."]}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed({"url": ["Use an http:// or https:// URL with a host."]})
    if parts.username or parts.password:
        raise ValidationFailed({"url": ["Leave credentials out of the URL: verify the signature."]})
    return url


async def _webhook(scope: WorkspaceScope, webhook_id: uuid.UUID) -> Webhook:
    webhook = await WebhookRepository(scope).get(webhook_id)
    if webhook is None:
        raise NotFound("webhook not found")
    return webhook


async def create(scope: WorkspaceScope, box: SecretBox, body: WebhookCreate) -> WebhookCreated:
    """Raises ValidationFailed (URL). The answer carries the signing secret, this once."""
    secret = signing.new_secret()
    webhook = Webhook(
        id=uuid.uuid4(), url=_check_url(body.url), description=body.description,
        events=sorted({e.value for e in body.events}), active=body.active,
    )  # fmt: skip
    webhook.sealed, _ = merge_secrets(
        box, tenant_id=scope.tenant_id, table=TABLE, row_id=webhook.id, stored={},
        incoming={"secret": secret},
    )  # fmt: skip
    WebhookRepository(scope).add(webhook)
    await scope.session.flush()
    audit.record(scope, "webhook.created", "webhook", webhook.id, object_name=webhook.url)
    return WebhookCreated.model_validate({**_read(webhook).model_dump(), "secret": secret})


def _read(webhook: Webhook) -> WebhookRead:
    return WebhookRead.model_validate(webhook)


async def listing(scope: WorkspaceScope) -> WebhookList:
    return WebhookList(items=[_read(w) for w in await WebhookRepository(scope).listing()])


async def read(scope: WorkspaceScope, webhook_id: uuid.UUID) -> WebhookRead:
    """Raises NotFound (also for another workspace's webhook)."""
    return _read(await _webhook(scope, webhook_id))


async def update(scope: WorkspaceScope, webhook_id: uuid.UUID, body: WebhookPatch) -> WebhookRead:
    """Raises NotFound, ValidationFailed."""
    webhook = await _webhook(scope, webhook_id)
    changed = []
    if body.url is not None and body.url.strip() != webhook.url:
        webhook.url = _check_url(body.url)
        changed.append("url")
    if body.description is not None and body.description != webhook.description:
        webhook.description = body.description
        changed.append("description")
    if body.events is not None:
        events = sorted({e.value for e in body.events})
        if events != webhook.events:
            webhook.events = events
            changed.append("events")
    if body.active is not None and body.active != webhook.active:
        webhook.active = body.active
        changed.append("active")
    if changed:
        WebhookRepository(scope).touch(webhook)
        await scope.session.flush()
        audit.record(
            scope, "webhook.updated", "webhook", webhook.id, object_name=webhook.url,
            fields=changed,
        )  # fmt: skip
    return _read(webhook)


async def delete(scope: WorkspaceScope, webhook_id: uuid.UUID) -> None:
    """Raises NotFound. Its delivery log goes with it."""
    webhook = await _webhook(scope, webhook_id)
    await WebhookRepository(scope).remove(webhook)
    await scope.session.flush()
    audit.record(scope, "webhook.deleted", "webhook", webhook.id, object_name=webhook.url)


async def deliveries(
    scope: WorkspaceScope, webhook_id: uuid.UUID, *, page: int = 1, page_size: int = 50
) -> DeliveryPage:
    """The delivery log, newest first. Raises NotFound."""
    await _webhook(scope, webhook_id)
    found = await DeliveryRepository(scope).of_webhook(webhook_id, page=page, page_size=page_size)
    return DeliveryPage(
        items=[DeliveryRead.model_validate(d) for d in found.items], total=found.total,
        page=page, page_size=page_size,
    )  # fmt: skip


async def redeliver(
    scope: WorkspaceScope, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRead:
    """Send a delivery's event again as a new delivery (same event id and payload, fresh
    attempts and signature). Raises NotFound."""
    webhook = await _webhook(scope, webhook_id)
    original = await DeliveryRepository(scope).get(delivery_id)
    if original is None or original.webhook_id != webhook.id:
        raise NotFound("delivery not found")
    again = queue_delivery(
        scope, webhook, original.event, original.event_id, original.payload,
        redelivery_of=original.id,
    )  # fmt: skip
    await scope.session.flush()
    return DeliveryRead.model_validate(again)


async def send_test(scope: WorkspaceScope, webhook_id: uuid.UUID) -> DeliveryRead:
    """Queue a `webhook.test` event to this webhook (active or not). Raises NotFound."""
    webhook = await _webhook(scope, webhook_id)
    event_id = uuid.uuid4()
    body = payload(scope.tenant_id, TEST_EVENT, event_id, {"webhook_id": str(webhook.id)}, utcnow())
    delivery: WebhookDelivery = queue_delivery(scope, webhook, TEST_EVENT, event_id, body)
    await scope.session.flush()
    return DeliveryRead.model_validate(delivery)
