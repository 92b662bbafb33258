"""All SQL about webhooks and their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func

from connectorhub.kit.repository import Page, SealedColumnRepository, TenantRepository
from connectorhub.webhook.models import DeliveryStatus, Webhook, WebhookDelivery


class WebhookRepository(SealedColumnRepository[Webhook]):
    model = Webhook
    sealed_column = "sealed"

    async def listing(self) -> Sequence[Webhook]:
        statement = self.select().order_by(Webhook.created_at, Webhook.id)
        return (await self.session.scalars(statement)).all()

    async def subscribed(self, event: str) -> list[Webhook]:
        # Events are a short JSON list: filtered here, the same way on both databases.
        statement = self.select().where(Webhook.active.is_(True))
        return [w for w in (await self.session.scalars(statement)).all() if event in w.events]


class DeliveryRepository(TenantRepository[WebhookDelivery]):
    model = WebhookDelivery

    async def get_for_update(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        statement = self.select().where(WebhookDelivery.id == delivery_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def lost(self, cutoff: datetime) -> list[uuid.UUID]:
        """Pending deliveries whose attempt was due before `cutoff` (their job was lost)."""
        due = func.coalesce(WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
        statement = self.select(WebhookDelivery.id).where(
            WebhookDelivery.status == DeliveryStatus.pending.value, due < cutoff
        )
        return list((await self.session.scalars(statement)).all())

    async def of_webhook(
        self, webhook_id: uuid.UUID, *, page: int, page_size: int
    ) -> Page[WebhookDelivery]:
        statement = self.newest_first(webhook_id=webhook_id)
        return await self.paginate(statement, page, page_size)
