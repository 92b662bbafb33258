from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.credential.models import SecretKeyCheck


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
