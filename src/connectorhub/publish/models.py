"""One piece of content sent (or to be sent) to one publisher connector."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, new_id


class PublicationStatus(StrEnum):
    """scheduled → sending → published | failed | unknown; a scheduled one may be cancelled.
    `unknown`: an attempt was cut short and the provider could not say whether it posted."""

    scheduled = "scheduled"
    sending = "sending"
    published = "published"
    failed = "failed"
    unknown = "unknown"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (self.published, self.failed, self.unknown, self.cancelled)


class Publication(TenantOwned, Base):
    __tablename__ = "publications"
    __table_args__ = (
        # A repeated Idempotency-Key finds the first publication instead of posting again.
        Index(
            "uq_publications_idempotency", "tenant_id", "connector_id", "idempotency_key",
            unique=True,
        ),
        Index("ix_publications_listing", "tenant_id", "created_at"),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connectors.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=PublicationStatus.scheduled.value)
    # What to post, as the request gave it (text, title, html, tags, media URLs…): data only.
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    publish_at: Mapped[datetime | None] = mapped_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    provider_post_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    # Attempts are counted before the provider is called, so a crash mid-call is never blind.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    # An earlier attempt may have posted (a timeout after sending, a 5xx): the next attempt
    # looks the post up by marker before sending anything.
    check_first: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column()
    published_at: Mapped[datetime | None] = mapped_column()
    # A scheduled publication that went out after its time (the service was down, say).
    late_ms: Mapped[float | None] = mapped_column(Float)
