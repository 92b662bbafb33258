"""Records one audit event per mutation, in the mutation's own transaction."""

from __future__ import annotations

from typing import Any

from connectorhub.audit.models import AuditEvent
from connectorhub.audit.repository import AuditEventRepository
from connectorhub.kit.repository import Page, WorkspaceScope

SECRET_CHANGED = "(changed)"


def record(
    scope: WorkspaceScope,
    action: str,
    object_type: str,
    object_id: object,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event. `changes` must hold no secret values (write SECRET_CHANGED instead)."""
    return AuditEventRepository(scope).add(
        AuditEvent(
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            changes=changes or {},
        )
    )


async def list_events(
    scope: WorkspaceScope, page: int, page_size: int, object_id: str | None = None
) -> Page[AuditEvent]:
    return await AuditEventRepository(scope).recent(page, page_size, object_id)
