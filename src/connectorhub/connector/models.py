"""Installed connectors: a workspace's configured instance of a catalog entry."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connectorhub.catalog.models import CatalogEntry
from connectorhub.kit.models import Base, TenantOwned, UUIDType, new_id


class ConnectorStatus(StrEnum):
    inactive = "inactive"
    active = "active"
    error = "error"


class Connector(TenantOwned, Base):
    __tablename__ = "connectors"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        # At most one default destination per workspace.
        Index("uq_connectors_default_destination", "tenant_id", unique=True,
              sqlite_where=text("default_destination"),
              postgresql_where=text("default_destination")),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(UUIDType, primary_key=True, default=new_id)
    catalog_id: Mapped[uuid.UUID] = mapped_column(
        UUIDType, ForeignKey("connector_catalog.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=ConnectorStatus.inactive.value)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {field: ciphertext}; plaintext never touches this column (see kit/sealing.py).
    auth: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[str]] = mapped_column(default=list)
    template_id: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    template_version: Mapped[int | None] = mapped_column(Integer)
    definition: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    last_test: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # Source connectors: a cron expression read in `schedule_timezone`, and when it next fires.
    schedule: Mapped[str | None] = mapped_column(String(100))
    schedule_timezone: Mapped[str | None] = mapped_column(String(64))
    next_sync_at: Mapped[datetime | None] = mapped_column(index=True)
    executions_total: Mapped[int] = mapped_column(Integer, default=0)
    executions_succeeded: Mapped[int] = mapped_column(Integer, default=0)
    executions_failed: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column()
    avg_duration_ms: Mapped[float | None] = mapped_column(Float)
    # Source connectors: what discovery found, what the user picked, the tap's saved state.
    discovered_catalog: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    selected_streams: Mapped[list[Any] | None] = mapped_column(nullable=True)
    singer_state: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # Source connectors: the target connector their syncs load into, or the built-in warehouse
    # picked (`destination_warehouse`), neither: the workspace's default; sync/destinations.py
    # keeps at most one set. Target connectors: whether this is the workspace's default.
    destination_id: Mapped[uuid.UUID | None] = mapped_column(
        UUIDType, ForeignKey("connectors.id", ondelete="SET NULL")
    )
    destination_warehouse: Mapped[bool] = mapped_column(Boolean, default=False)
    default_destination: Mapped[bool] = mapped_column(Boolean, default=False)
    # Publisher connectors: who the last successful test signed in as (name, handle, id).
    account: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)

    # OAuth connectors: the grant's facts that are not secret (scopes, lifetimes, whether it
    # needs reconnecting; see oauth/grant.py), and when the access token expires, for the job
    # that refreshes ahead.
    oauth: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(index=True)

    catalog: Mapped[CatalogEntry] = relationship(lazy="raise")
