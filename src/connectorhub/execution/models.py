"""One run of a connector: what it was asked, what each step did, how it ended."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, new_id
from connectorhub.run.models import RunMixin, RunStatus

ExecutionStatus = RunStatus


class Trigger(StrEnum):
    manual = "manual"
    api = "api"
    schedule = "schedule"
    flow = "flow"


class Execution(RunMixin, TenantOwned, Base):
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
    # Input as shown: values the input schema marks secret (writeOnly / format password, at any
    # depth) masked. `sealed_input` holds what the worker needs that is not shown: each secret
    # input value under its JSON Pointer (`/nested/otp`; a bare name from before is top-level),
    # and while it runs each finished step's extracted values as they were (the records show
    # them masked) under `#step/<index>`, so an attempt after a crash resumes at the first
    # unfinished step. One sealed column, so key rotation re-seals (and counts) both.
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed_input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
