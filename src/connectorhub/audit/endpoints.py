from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from connectorhub.audit import service
from connectorhub.audit.schemas import AuditEventRead
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
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditEventPage:
    found = await service.list_events(context.scope, page, page_size, object_id)
    return AuditEventPage(
        items=[AuditEventRead.model_validate(e) for e in found.items],
        total=found.total, page=page, page_size=page_size,
    )  # fmt: skip
