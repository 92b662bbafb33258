"""All SQL about sync runs (the lifecycle's share in run/repository.py)."""

from __future__ import annotations

import uuid

from connectorhub.kit.repository import Page
from connectorhub.run.models import ACTIVE
from connectorhub.run.repository import RunRepository
from connectorhub.sync.models import SyncRun


class SyncRunRepository(RunRepository[SyncRun]):
    model = SyncRun

    async def active_for(self, connector_id: uuid.UUID) -> SyncRun | None:
        statement = self.select().where(
            SyncRun.connector_id == connector_id, SyncRun.status.in_(ACTIVE)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def search(
        self, *, connector_id: uuid.UUID | None, status: str | None, page: int, page_size: int
    ) -> Page[SyncRun]:
        statement = self.newest_first(connector_id=connector_id, status=status)
        return await self.paginate(statement, page, page_size)
