"""All SQL about executions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from connectorhub.execution.models import Execution, ExecutionStatus
from connectorhub.kit.repository import Page, SealedColumnRepository


class ExecutionRepository(SealedColumnRepository[Execution]):
    model = Execution
    sealed_column = "sealed_input"

    async def get_for_update(self, execution_id: uuid.UUID) -> Execution | None:
        statement = self.select().where(Execution.id == execution_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_idempotency_key(self, connector_id: uuid.UUID, key: str) -> Execution | None:
        statement = self.select().where(
            Execution.connector_id == connector_id, Execution.idempotency_key == key
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def queued_before(self, cutoff: datetime) -> list[uuid.UUID]:
        statement = self.select(Execution.id).where(
            Execution.status == ExecutionStatus.queued.value, Execution.created_at < cutoff
        )
        return list((await self.session.scalars(statement)).all())

    async def cancel_requested(self, execution_id: uuid.UUID) -> bool:
        statement = self.select(Execution.cancel_requested).where(Execution.id == execution_id)
        return bool(await self.session.scalar(statement))

    async def save_steps(
        self, execution_id: uuid.UUID, steps: list[dict[str, Any]], claimant: str
    ) -> bool:
        """Store progress; returns whether someone asked to cancel meanwhile."""
        statement = self._scoped(
            update(Execution)
            # Only while running: a late writer never overwrites a finished execution's steps.
            .where(
                Execution.id == execution_id,
                Execution.status == ExecutionStatus.running.value,
                # An attempt that lost its claim (its job retried elsewhere) writes nothing.
                Execution.claimed_by == claimant,
            )
            .values(steps=steps)
            .returning(Execution.cancel_requested)
        )
        return bool((await self.session.execute(statement)).scalar_one_or_none())

    async def search(
        self,
        *,
        connector_id: uuid.UUID | None,
        status: str | None,
        since: datetime | None,
        until: datetime | None,
        page: int,
        page_size: int,
    ) -> Page[Execution]:
        statement = self.select().order_by(Execution.created_at.desc(), Execution.id)
        if connector_id:
            statement = statement.where(Execution.connector_id == connector_id)
        if status:
            statement = statement.where(Execution.status == status)
        if since:
            statement = statement.where(Execution.created_at >= since)
        if until:
            statement = statement.where(Execution.created_at < until)
        return await self.paginate(statement, page, page_size)


async def unfinished_executions(session) -> Sequence[tuple[str, uuid.UUID]]:
    """(workspace, id) of every queued or running execution, in all workspaces.

    Only for the embedded in-process worker's start-up recovery: on SQLite there is no row-level
    security, and this process is the only worker, so whatever it finds was orphaned by its
    previous run.
    """
    statement = select(Execution.tenant_id, Execution.id).where(
        Execution.status.in_([ExecutionStatus.queued.value, ExecutionStatus.running.value])
    )
    return [(row.tenant_id, row.id) for row in await session.execute(statement)]
