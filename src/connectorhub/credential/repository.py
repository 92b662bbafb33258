"""All SQL about key checks and workspace API credentials."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.credential.models import SecretKeyCheck, WorkspaceApiCredential
from connectorhub.kit.repository import SealedColumnRepository


class KeyCheckRepository:
    """Key check values are platform rows: one per encryption key that may still seal data."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def by_key_id(self) -> dict[str, SecretKeyCheck]:
        return {row.key_id: row for row in await self.session.scalars(select(SecretKeyCheck))}

    async def add_if_missing(self, key_id: str, check_value: str) -> None:
        """Insert a check row; another process starting at the same moment may win, which is fine."""
        try:
            async with self.session.begin_nested():
                self.session.add(SecretKeyCheck(key_id=key_id, check_value=check_value))
        except IntegrityError:
            pass

    async def remove(self, key_ids: Iterable[str]) -> None:
        key_ids = list(key_ids)
        if key_ids:
            await self.session.execute(
                delete(SecretKeyCheck).where(SecretKeyCheck.key_id.in_(key_ids))
            )


class WorkspaceCredentialRepository(SealedColumnRepository[WorkspaceApiCredential]):
    model = WorkspaceApiCredential
    sealed_column = "secret"

    async def listing(self) -> Sequence[WorkspaceApiCredential]:
        statement = self.select().order_by(WorkspaceApiCredential.name)
        return (await self.session.scalars(statement)).all()

    async def by_name(self, name: str) -> WorkspaceApiCredential | None:
        statement = self.select().where(WorkspaceApiCredential.name == name)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_names(self, names: Iterable[str]) -> Sequence[WorkspaceApiCredential]:
        statement = self.select().where(WorkspaceApiCredential.name.in_(list(names)))
        return (await self.session.scalars(statement)).all()

    async def mark_used(self, ids: Iterable[uuid.UUID], at: datetime) -> None:
        ids = list(ids)
        if ids:
            statement = (
                self.update()
                .where(WorkspaceApiCredential.id.in_(ids))
                .values(last_used_at=at)
                .execution_options(synchronize_session=False)
            )
            await self.session.execute(statement)
