"""Workspace webhooks (URLs that hear about events) and the log of each delivery to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, new_id


class Event(StrEnum):
    execution_succeeded = "execution.succeeded"
    execution_failed = "execution.failed"
    sync_succeeded = "sync.succeeded"
    sync_failed = "sync.failed"
    publication_published = "publication.published"
    publication_failed = "publication.failed"
    connector_status_changed = "connector.status_changed"


# What a "Send test event" delivers: no webhook subscribes to it, each may be sent one.
TEST_EVENT = "webhook.test"


class DeliveryStatus(StrEnum):
    pending = "pending"  # queued, or waiting for its next attempt
    succeeded = "succeeded"
    failed = "failed"  # gave up (or refused: an address the SSRF guard stops)


class Webhook(TenantOwned, Base):
    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"secret": ciphertext}: the signing secret, sealed (kit/sealing.py), shown once.
    sealed: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebhookDelivery(TenantOwned, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_listing", "tenant_id", "webhook_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    # The event's id: the same in every delivery (and redelivery) of it, so receivers dedupe.
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending.value)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[float | None] = mapped_column()
    redelivery_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
