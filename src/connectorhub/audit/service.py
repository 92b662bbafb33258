"""Records one audit event per mutation, in the mutation's own transaction, and finds them again
by object (id or name), actor, action and time."""

from __future__ import annotations

from typing import Any

from connectorhub.audit.models import FIELDS, NAMED_BY, OBJECT_NAME, AuditEvent
from connectorhub.audit.repository import AuditEventRepository
from connectorhub.audit.schemas import AuditEventRead, AuditFilters
from connectorhub.kit.repository import Page, WorkspaceScope

SECRET_CHANGED = "(changed)"


def record(
    scope: WorkspaceScope,
    action: str,
    object_type: str,
    object_id: object,
    changes: dict[str, Any] | None = None,
    *,
    object_name: str | None = None,
    fields: list[str] | None = None,
) -> AuditEvent:
    """Add an audit event. `changes` must hold no secret values (write SECRET_CHANGED instead);
    `fields` names what changed (never a value), `object_name` what the object is called."""
    stored = dict(changes or {})
    if fields is not None:
        stored[FIELDS] = sorted(set(fields))
    if object_name is not None:
        stored[OBJECT_NAME] = object_name
    return AuditEventRepository(scope).add(
        AuditEvent(
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            changes=stored,
        )
    )


def _names(changes: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of what an event says changed: its `fields`, else its keys (nested ones
    joined, as `auth.access_token`), never a value."""
    if not prefix and isinstance(changes.get(FIELDS), list):
        return [str(name) for name in changes[FIELDS]]
    names: list[str] = []
    for key, value in changes.items():
        if not prefix and key == OBJECT_NAME:
            continue
        path = f"{prefix}{key}"
        names.extend(_names(value, f"{path}.") if isinstance(value, dict) and value else [path])
    return sorted(names) if not prefix else names


def to_read(event: AuditEvent) -> AuditEventRead:
    changes = event.changes or {}
    name = next((changes[key] for key in NAMED_BY if isinstance(changes.get(key), str)), None)
    return AuditEventRead(
        id=event.id, action=event.action, object_type=event.object_type,
        object_id=event.object_id, object_name=name,
        fields=_names(changes), changes=changes, created_at=event.created_at,
        created_by=event.created_by,
    )  # fmt: skip


async def list_events(
    scope: WorkspaceScope, page: int, page_size: int, filters: AuditFilters | None = None
) -> Page[AuditEventRead]:
    """The workspace's events newest first, filtered (`since` inclusive, `until` exclusive)."""
    found = await AuditEventRepository(scope).recent(page, page_size, filters or AuditFilters())
    return Page(
        items=[to_read(e) for e in found.items], total=found.total, page=page, page_size=page_size
    )


async def actions(scope: WorkspaceScope) -> list[str]:
    """The actions this workspace's log holds, for a filter to offer."""
    return await AuditEventRepository(scope).actions()
