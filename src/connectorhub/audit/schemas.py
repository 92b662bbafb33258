from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class AuditFilters:
    """`object`: an object's id, or a name it has had; `actor`: who acted (a user id);
    `since` inclusive, `until` exclusive."""

    object: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditEventRead(BaseModel):
    id: uuid.UUID
    action: str
    object_type: str
    object_id: str
    object_name: str | None = Field(
        None, description="What the object was called when this happened (if recorded)."
    )
    fields: list[str] = Field(
        default_factory=list,
        description="Names of the fields that changed (`config.base_url`, `auth.password`), "
        "never their values.",
    )
    changes: dict[str, Any] = Field(
        description="What the event recorded: field names, and non-secret facts of some events "
        "(a member's role); never a secret value."
    )
    created_at: datetime
    created_by: str | None = Field(None, description="The acting user's id")
