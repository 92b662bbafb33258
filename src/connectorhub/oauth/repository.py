"""All SQL of OAuth: pending authorizations (found by state at the callback, before the
workspace is known), and the rows that hold tokens (connectors, workspace credentials)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.credential.models import WorkspaceApiCredential
from connectorhub.credential.repository import WorkspaceCredentialRepository
from connectorhub.db import identity_lookup
from connectorhub.kit.repository import TenantRepository
from connectorhub.oauth.models import OAuthState


class OAuthStateRepository(TenantRepository[OAuthState]):
    model = OAuthState

    async def get_for_update(self, state_id: uuid.UUID) -> OAuthState | None:
        statement = self.select().where(OAuthState.id == state_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def forget_expired(self, before: datetime) -> None:
        statement = self.delete().where(OAuthState.expires_at < before)
        await self.session.execute(statement.execution_options(synchronize_session=False))


async def state_by_hash(session: AsyncSession, state_hash: str) -> OAuthState | None:
    """The callback's lookup: by state alone, in whichever workspace it was started."""
    async with identity_lookup(session):
        statement = select(OAuthState).where(OAuthState.state_hash == state_hash)
        return (await session.execute(statement)).scalar_one_or_none()


class TokenHolderRepository(ConnectorRepository):
    """Connectors, and the ones holding OAuth tokens."""

    async def with_tokens(self) -> Sequence[uuid.UUID]:
        """Connectors holding a connected grant or a token that says when it expires."""
        statement = self.select(Connector.id).where(
            or_(Connector.token_expires_at.is_not(None), Connector.oauth.is_not(None))
        )
        return (await self.session.scalars(statement)).all()


class CredentialHolderRepository(WorkspaceCredentialRepository):
    """Workspace credentials, and the oauth2 ones that name a provider."""

    async def with_tokens(self) -> Sequence[uuid.UUID]:
        statement = self.select(WorkspaceApiCredential.id).where(
            WorkspaceApiCredential.provider.is_not(None)
        )
        return (await self.session.scalars(statement)).all()
