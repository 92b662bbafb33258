"""All SQL about publications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.kit.repository import Page, TenantRepository
from connectorhub.publish.models import Publication, PublicationStatus


class PublicationRepository(TenantRepository[Publication]):
    model = Publication

    async def get_for_update(self, publication_id: uuid.UUID) -> Publication | None:
        statement = self.select().where(Publication.id == publication_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_idempotency_key(self, connector_id: uuid.UUID, key: str) -> Publication | None:
        statement = self.select().where(
            Publication.connector_id == connector_id, Publication.idempotency_key == key
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def due_before(self, cutoff: datetime) -> list[tuple[uuid.UUID, datetime | None]]:
        """Scheduled publications whose time had come by `cutoff` (their job may be lost)."""
        statement = self.select(Publication.id, Publication.publish_at).where(
            Publication.status == PublicationStatus.scheduled.value,
            Publication.publish_at <= cutoff,
        )
        return [(row.id, row.publish_at) for row in await self.session.execute(statement)]

    async def sending_since(self, cutoff: datetime) -> list[tuple[uuid.UUID, str | None]]:
        """Publications still being sent by an attempt that began before `cutoff`."""
        statement = self.select(Publication.id, Publication.claimed_by).where(
            Publication.status == PublicationStatus.sending.value, Publication.sent_at < cutoff
        )
        return [(row.id, row.claimed_by) for row in await self.session.execute(statement)]

    async def search(
        self, *, connector_id: uuid.UUID | None, status: str | None, since: datetime | None,
        until: datetime | None, page: int, page_size: int,
    ) -> Page[Publication]:  # fmt: skip
        statement = self.newest_first(
            connector_id=connector_id, status=status, since=since, until=until
        )
        return await self.paginate(statement, page, page_size)


async def unfinished_publications(session: AsyncSession) -> list[Any]:
    """Rows (tenant_id, id, status, publish_at, claimed_by) of every scheduled or sending
    publication, in all workspaces: only for the embedded default's start-up (SQLite, no RLS)."""
    statement = select(
        Publication.tenant_id, Publication.id, Publication.status, Publication.publish_at,
        Publication.claimed_by,
    ).where(
        Publication.status.in_([PublicationStatus.scheduled.value, PublicationStatus.sending.value])
    )  # fmt: skip
    return list(await session.execute(statement))
