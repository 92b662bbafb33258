from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.auth.models import ApiToken, User, WebSession
from connectorhub.db import identity_lookup, is_postgres
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

    async def with_platform_role(self) -> Sequence[User]:
        statement = select(User).where(User.platform_role.is_not(None)).order_by(User.email)
        return (await self.session.scalars(statement)).all()


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
    """Browser sessions: platform rows, each its user's alone. On PostgreSQL RLS admits a user's
    rows once `bind_user` named them (migration 0015); before that, the cookie lookup may read
    the one row whose hash it presents, and nothing else."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def _set(self, name: str, value: str) -> None:
        if is_postgres(self.session):
            await self.session.execute(select(func.set_config(name, value, True)))

    async def bind_user(self, user_id: uuid.UUID) -> None:
        """Let this transaction read and write `user_id`'s sessions (and no one else's)."""
        await self._set("app.user_id", str(user_id))

    def add(self, row: WebSession) -> WebSession:
        """Add a session of the bound user (`bind_user` first)."""
        self.session.add(row)
        return row

    async def by_hash(self, token_hash: str) -> WebSession | None:
        """The session with this cookie hash, whoever's it is (read only)."""
        await self._set("app.session_token_hash", token_hash)
        # No `finally`: a failed statement aborts the transaction (see db.identity_lookup).
        row = await self.session.scalar(
            select(WebSession).where(WebSession.token_hash == token_hash)
        )
        await self._set("app.session_token_hash", "")
        return row

    async def delete_for(self, user_id: uuid.UUID, tenant_id: str) -> None:
        """Sign `user_id` out of `tenant_id` everywhere: a workspace owner removing a member
        acts for that user here, on those rows only, and is themself again after."""
        statement = delete(WebSession).where(
            WebSession.user_id == user_id, WebSession.tenant_id == tenant_id
        )
        if not is_postgres(self.session):
            await self.session.execute(statement)
            return
        bound = await self.session.scalar(select(func.current_setting("app.user_id", True)))
        await self.bind_user(user_id)
        await self.session.execute(statement)
        await self._set("app.user_id", bound or "")

    async def delete_by_hash(self, token_hash: str) -> None:
        """Delete the bound user's session with this hash (sign-out)."""
        await self.session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))
