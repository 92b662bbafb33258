from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from connectorhub.audit import service
from connectorhub.audit.schemas import AuditEventRead, AuditFilters
from connectorhub.auth.dependencies import AdminContext
from connectorhub.kit.routing import hub_router

router = hub_router(tags=["audit"])


class AuditEventPage(BaseModel):
    items: list[AuditEventRead]
    total: int
    page: int
    page_size: int


@router.get("/audit-events", response_model=AuditEventPage)
async def list_audit_events(
    context: AdminContext,
    object_id: Annotated[
        str | None, Query(max_length=200, description="An object's id, or a name it has had")
    ] = None,
    actor: Annotated[str | None, Query(max_length=64, description="The acting user's id")] = None,
    action: Annotated[str | None, Query(max_length=64, examples=["connector.updated"])] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditEventPage:
    """Newest first. Field names changed, never values."""
    filters = AuditFilters(object=object_id, actor=actor, action=action, since=since, until=until)
    found = await service.list_events(context.scope, page, page_size, filters)
    return AuditEventPage(
        items=list(found.items), total=found.total, page=page, page_size=page_size
    )
