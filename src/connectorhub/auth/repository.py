from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.auth.models import ApiToken, User, WebSession
from connectorhub.db import identity_lookup
from connectorhub.kit.repository import TenantRepository
from connectorhub.tenant.models import Membership


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

    async def with_member(self, token_hash: str) -> tuple[ApiToken, User, str] | None:
        """The token, its user, and the user's role in the token's own workspace — one query.

        The membership join is on the token's workspace, so it can never pick up another one's role.
        """
        statement = (
            select(ApiToken, User, Membership.role)
            .join(User, User.id == ApiToken.user_id)
            .join(
                Membership,
                (Membership.user_id == ApiToken.user_id)
                & (Membership.tenant_id == ApiToken.tenant_id),
            )
            .where(ApiToken.token_hash == token_hash)
        )
        async with identity_lookup(self.session):
            row = (await self.session.execute(statement)).first()
        return (row[0], row[1], row[2]) if row else None


class ApiTokenRepository(TenantRepository[ApiToken]):
    model = ApiToken

    async def listed(self) -> Sequence[ApiToken]:
        statement = self.select().where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.created_at)
        return (await self.session.scalars(statement)).all()


class WebSessionRepository:
    """Browser sessions: platform rows found by the cookie's hash before a workspace is bound."""

    def __init__(self, session: AsyncSession):
        self.session = session

    def add(self, row: WebSession) -> WebSession:
        self.session.add(row)
        return row

    async def by_hash(self, token_hash: str) -> WebSession | None:
        return await self.session.scalar(
            select(WebSession).where(WebSession.token_hash == token_hash)
        )

    async def delete_for(self, user_id: uuid.UUID, tenant_id: str) -> None:
        statement = delete(WebSession).where(
            WebSession.user_id == user_id, WebSession.tenant_id == tenant_id
        )
        await self.session.execute(statement)

    async def delete_by_hash(self, token_hash: str) -> None:
        await self.session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))
