"""One run of a connector: what it was asked, what each step did, how it ended."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, RunStatus, TenantOwned, new_id

ExecutionStatus = RunStatus


class Trigger(StrEnum):
    manual = "manual"
    api = "api"
    schedule = "schedule"
    flow = "flow"


class Execution(TenantOwned, Base):
    __tablename__ = "connector_executions"
    __table_args__ = (
        # A repeated Idempotency-Key finds the first execution instead of starting another.
        Index(
            "uq_connector_executions_idempotency",
            "tenant_id",
            "connector_id",
            "idempotency_key",
            unique=True,
        ),
        Index("ix_connector_executions_listing", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connectors.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=ExecutionStatus.queued.value)
    trigger: Mapped[str] = mapped_column(String(16), default=Trigger.api.value)
    # Input as shown: fields the input schema marks secret (writeOnly / format password) masked;
    # their values are sealed in `sealed_input` for the worker.
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed_input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    # How many times a worker has started it (a stalled run is picked up again).
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # Who runs it now (a queue job or a process): only that claimant may pick a running
    # execution up again, so a duplicated job never runs it twice at once.
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[float | None] = mapped_column()
