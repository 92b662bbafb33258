"""One Singer sync of a source connector."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, new_id
from connectorhub.run.models import RunMixin, RunStatus

SyncStatus = RunStatus


class SyncRun(RunMixin, TenantOwned, Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_listing", "tenant_id", "created_at"),
        # One sync per connector at a time, whoever asks.
        Index(
            "uq_sync_runs_one_active", "tenant_id", "connector_id", unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connectors.id", ondelete="CASCADE"), index=True
    )
    streams: Mapped[list[Any]] = mapped_column(default=list)
    rows: Mapped[dict[str, Any]] = mapped_column(default=dict)  # stream → rows loaded so far
    state_before: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    state_after: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    log_tail: Mapped[str] = mapped_column(Text, default="")
    error_kind: Mapped[str | None] = mapped_column(String(16))
