from __future__ import annotations

from sqlalchemy import or_

from connectorhub.audit.models import NAMED_BY, AuditEvent
from connectorhub.audit.schemas import AuditFilters
from connectorhub.kit.repository import Page, TenantRepository


class AuditEventRepository(TenantRepository[AuditEvent]):
    model = AuditEvent

    def _named(self, name: str):
        """Ids of objects an event recorded under `name` (its name then: a renamed or deleted
        object is found by any name it had)."""
        recorded = or_(*(AuditEvent.changes[key].as_string() == name for key in NAMED_BY))
        return self.select(AuditEvent.object_id).where(recorded)

    async def recent(self, page: int, page_size: int, filters: AuditFilters) -> Page[AuditEvent]:
        statement = self.newest_first(
            created_by=filters.actor, action=filters.action,
            since=filters.since, until=filters.until,
        )  # fmt: skip
        if filters.object:
            statement = statement.where(
                or_(
                    AuditEvent.object_id == filters.object,
                    AuditEvent.object_id.in_(self._named(filters.object)),
                )
            )
        return await self.paginate(statement, page, page_size)

    async def actions(self) -> list[str]:
        statement = self.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
        return list((await self.session.scalars(statement)).all())
