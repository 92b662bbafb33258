from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.auth.models import ApiToken, User
from connectorhub.kit.repository import TenantRepository


class UserRepository:
    """Users are platform rows: one account may belong to several workspaces."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(
            select(User).where(func.lower(User.email) == email.lower())
        )

    async def by_id(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    def add(self, user: User) -> User:
        self.session.add(user)
        return user

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(User)) or 0


class TokenLookup:
    """The one unscoped read of api_tokens: finding a presented token before its workspace is known."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def by_hash(self, token_hash: str) -> ApiToken | None:
        return await self.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


class ApiTokenRepository(TenantRepository[ApiToken]):
    model = ApiToken

    async def listed(self) -> Sequence[ApiToken]:
        statement = self.select().where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.created_at)
        return (await self.session.scalars(statement)).all()
