"""All SQL about executions (the lifecycle's share in run/repository.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from connectorhub.execution.models import Execution
from connectorhub.kit.repository import Page
from connectorhub.run.repository import SealedRunRepository


class ExecutionRepository(SealedRunRepository[Execution]):
    model = Execution
    sealed_column = "sealed_input"

    async def by_idempotency_key(self, connector_id: uuid.UUID, key: str) -> Execution | None:
        statement = self.select().where(
            Execution.connector_id == connector_id, Execution.idempotency_key == key
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def search(
        self, *, connector_id: uuid.UUID | None, status: str | None, since: datetime | None,
        until: datetime | None, page: int, page_size: int,
    ) -> Page[Execution]:  # fmt: skip
        statement = self.newest_first(
            connector_id=connector_id, status=status, since=since, until=until
        )
        return await self.paginate(statement, page, page_size)
