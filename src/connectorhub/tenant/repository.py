from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.auth.models import User
from connectorhub.db import identity_lookup
from connectorhub.kit.repository import TenantRepository
from connectorhub.tenant.models import Invitation, Membership, Workspace


class WorkspaceRepository:
    """Workspaces are platform rows (the tenants themselves)."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def by_id(self, workspace_id: str) -> Workspace | None:
        return await self.session.get(Workspace, workspace_id)

    def add(self, workspace: Workspace) -> Workspace:
        self.session.add(workspace)
        return workspace

    async def all_ids(self) -> Sequence[str]:
        return (await self.session.scalars(select(Workspace.id).order_by(Workspace.id))).all()


class MembershipRepository(TenantRepository[Membership]):
    model = Membership

    async def by_user(self, user_id: uuid.UUID) -> Membership | None:
        result = await self.session.execute(self.select().where(Membership.user_id == user_id))
        return result.scalar_one_or_none()

    async def with_users(self) -> Sequence[tuple[Membership, User]]:
        statement = (
            self.select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .order_by(User.email)
        )
        return (await self.session.execute(statement)).all()  # type: ignore[return-value]

    async def count_role_locked(self, role: str) -> int:
        """How many members have `role`, locking those rows so two concurrent demotions of the
        last two owners cannot both see two."""
        statement = self.select(Membership.id).where(Membership.role == role).with_for_update()
        return len((await self.session.scalars(statement)).all())


@dataclass(frozen=True)
class WorkspaceMembership:
    tenant_id: str
    name: str
    role: str


class MembershipLookup:
    """The one cross-workspace read of memberships: which workspaces a signed-in user may open."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def workspaces_of(self, user_id: uuid.UUID) -> list[WorkspaceMembership]:
        statement = (
            select(Workspace.id, Workspace.name, Membership.role)
            .join(Membership, Membership.tenant_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.name)
        )
        async with identity_lookup(self.session):
            rows = (await self.session.execute(statement)).all()
        return [WorkspaceMembership(*row) for row in rows]


def _pending(now: datetime):
    return (
        Invitation.accepted_at.is_(None)
        & Invitation.declined_at.is_(None)
        & Invitation.revoked_at.is_(None)
        & (Invitation.expires_at > now)
    )


class InvitationRepository(TenantRepository[Invitation]):
    """A workspace's invitations, as its owners manage them."""

    model = Invitation

    async def pending(self, now: datetime) -> Sequence[Invitation]:
        statement = self.select().where(_pending(now)).order_by(Invitation.created_at)
        return (await self.session.scalars(statement)).all()

    async def pending_for(self, email: str, now: datetime) -> Sequence[Invitation]:
        statement = self.select().where(_pending(now), Invitation.email == email.lower())
        return (await self.session.scalars(statement)).all()

    async def locked(self, invitation_id: uuid.UUID) -> Invitation | None:
        statement = (
            self.select()
            .where(Invitation.id == invitation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()


class InvitationLookup:
    """The cross-workspace read of invitations, before the inviting workspace is bound: the
    one an invitation link's token names."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def by_token_hash(self, token_hash: str) -> tuple[Invitation, str] | None:
        """The invitation (in any state) and its workspace's name."""
        statement = (
            select(Invitation, Workspace.name)
            .join(Workspace, Workspace.id == Invitation.tenant_id)
            .where(Invitation.token_hash == token_hash)
        )
        async with identity_lookup(self.session):
            row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1])
