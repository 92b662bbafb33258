"""All SQL about notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func

from connectorhub.kit.repository import Page, TenantRepository
from connectorhub.notification.models import Notification


class NotificationRepository(TenantRepository[Notification]):
    model = Notification

    async def unread_about(self, kind: str, subject_id: str | None) -> Notification | None:
        statement = (
            self.select()
            .where(
                Notification.kind == kind,
                Notification.subject_id == subject_id,
                Notification.read_at.is_(None),
            )
            .with_for_update()
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def search(self, *, unread: bool, page: int, page_size: int) -> Page[Notification]:
        statement = self.select().order_by(Notification.updated_at.desc(), Notification.id)
        if unread:
            statement = statement.where(Notification.read_at.is_(None))
        return await self.paginate(statement, page, page_size)

    async def unread_count(self) -> int:
        statement = self.select(func.count()).where(Notification.read_at.is_(None))
        return await self.session.scalar(statement) or 0

    async def mark_all_read(self, at: datetime) -> int:
        statement = (
            self.update()
            .where(Notification.read_at.is_(None))
            .values(read_at=at)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(statement)).rowcount or 0
