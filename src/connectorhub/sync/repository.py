"""All SQL about sync runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from connectorhub.kit.repository import Page, TenantRepository
from connectorhub.sync.models import ACTIVE, SyncRun, SyncStatus


class SyncRunRepository(TenantRepository[SyncRun]):
    model = SyncRun

    async def get_for_update(self, run_id: uuid.UUID) -> SyncRun | None:
        statement = self.select().where(SyncRun.id == run_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def active_for(self, connector_id: uuid.UUID) -> SyncRun | None:
        statement = self.select().where(
            SyncRun.connector_id == connector_id, SyncRun.status.in_(ACTIVE)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def save_progress(self, run_id: uuid.UUID, claimant: str, **values: Any) -> bool | None:
        """Store progress while `claimant` holds the run; returns whether a cancel was asked
        (None: the run is no longer this claimant's)."""
        statement = self._scoped(
            update(SyncRun)
            .where(
                SyncRun.id == run_id,
                SyncRun.status == SyncStatus.running.value,
                SyncRun.claimed_by == claimant,
            )
            .values(**values)
            .returning(SyncRun.cancel_requested)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def search(
        self, *, connector_id: uuid.UUID | None, status: str | None, page: int, page_size: int
    ) -> Page[SyncRun]:
        statement = self.select().order_by(SyncRun.created_at.desc(), SyncRun.id)
        if connector_id:
            statement = statement.where(SyncRun.connector_id == connector_id)
        if status:
            statement = statement.where(SyncRun.status == status)
        return await self.paginate(statement, page, page_size)


async def unfinished_sync_runs(session) -> Sequence[tuple[str, uuid.UUID]]:
    """(workspace, id) of every queued or running sync, in all workspaces: only for the embedded
    default's start-up recovery (SQLite, no RLS, this process the only worker)."""
    statement = select(SyncRun.tenant_id, SyncRun.id).where(SyncRun.status.in_(ACTIVE))
    return [(row.tenant_id, row.id) for row in await session.execute(statement)]
