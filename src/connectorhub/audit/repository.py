from __future__ import annotations

from connectorhub.audit.models import AuditEvent
from connectorhub.kit.repository import Page, TenantRepository


class AuditEventRepository(TenantRepository[AuditEvent]):
    model = AuditEvent

    async def recent(
        self, page: int, page_size: int, object_id: str | None = None
    ) -> Page[AuditEvent]:
        statement = self.select().order_by(AuditEvent.created_at.desc(), AuditEvent.id)
        if object_id:
            statement = statement.where(AuditEvent.object_id == object_id)
        return await self.paginate(statement, page, page_size)
