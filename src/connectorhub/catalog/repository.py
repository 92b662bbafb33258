from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.catalog.models import CUSTOM_TAP_KEY, CatalogEntry
from connectorhub.kit.repository import escape_like


class CatalogRepository:
    """The catalog is global: one row per connector type, the same for every workspace."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def search(
        self, category: str | None = None, kind: str | None = None, search: str | None = None
    ) -> Sequence[CatalogEntry]:
        statement = (
            select(CatalogEntry)
            .where(CatalogEntry.key != CUSTOM_TAP_KEY)
            .order_by(CatalogEntry.name)
        )
        if category:
            statement = statement.where(func.lower(CatalogEntry.category) == category.lower())
        if kind:
            statement = statement.where(CatalogEntry.kind == kind)
        if search:
            pattern = f"%{escape_like(search)}%"
            statement = statement.where(
                or_(
                    CatalogEntry.name.ilike(pattern, escape="\\"),
                    CatalogEntry.description.ilike(pattern, escape="\\"),
                    CatalogEntry.key.ilike(pattern, escape="\\"),
                )
            )
        return (await self.session.scalars(statement)).all()

    async def by_key(self, key: str) -> CatalogEntry | None:
        return await self.session.scalar(select(CatalogEntry).where(CatalogEntry.key == key))

    async def by_id(self, entry_id: uuid.UUID) -> CatalogEntry | None:
        return await self.session.get(CatalogEntry, entry_id)

    async def all_by_key(self) -> dict[str, CatalogEntry]:
        return {row.key: row for row in await self.session.scalars(select(CatalogEntry))}

    def add(self, entry: CatalogEntry) -> CatalogEntry:
        self.session.add(entry)
        return entry
