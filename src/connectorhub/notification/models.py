"""Workspace notifications: what went wrong (or changed) and where to fix it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, new_id


class Level(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"


class Notification(TenantOwned, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_listing", "tenant_id", "read_at", "created_at"),
        # One unread notification per subject: repeats fold into it, even when raised at once.
        Index(
            "uq_notifications_unread_subject", "tenant_id", "kind", "subject_id", unique=True,
            sqlite_where=text("read_at IS NULL"), postgresql_where=text("read_at IS NULL"),
        ),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    level: Mapped[str] = mapped_column(String(16), default=Level.info.value)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Where to fix it, relative to the UI root (e.g. `/connectors/installed?search=Billing`).
    link: Mapped[str | None] = mapped_column(String(500))
    # What it is about: repeats of an unread one (same kind and subject) fold into it.
    kind: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    read_at: Mapped[datetime | None] = mapped_column()
