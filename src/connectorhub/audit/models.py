"""Audit events: who did what to which object. Never secret values."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, UUIDType, new_id

# Keys of `changes` in events that record field names only (connectors, templates): what changed,
# by name, and the object's name then (so it is found by name once renamed or deleted).
FIELDS = "fields"
OBJECT_NAME = "object_name"
# Where an event says what its object is called: events of other kinds record a `name` (a
# credential, a token) or an `email` (a member, an invitation).
NAMED_BY = (OBJECT_NAME, "name", "email")


class AuditEvent(TenantOwned, Base):
    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = mapped_column(UUIDType, primary_key=True, default=new_id)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    # Field names that changed, with non-secret values only; secret fields say "(changed)".
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
