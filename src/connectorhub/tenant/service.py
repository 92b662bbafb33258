"""Workspaces and their members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.audit import service as audit
from connectorhub.auth.models import User
from connectorhub.auth.passwords import generate_password
from connectorhub.auth.repository import UserRepository
from connectorhub.auth.service import create_user, end_sessions_of, revoke_tokens_of
from connectorhub.exceptions import BadRequest, Conflict, NotFound
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.tenant.models import Membership, Role, Workspace
from connectorhub.tenant.repository import MembershipRepository, WorkspaceRepository
from connectorhub.tenant.schemas import MemberInvited, MemberRead, check_slug


async def create_workspace(session: AsyncSession, slug: str, name: str | None = None) -> Workspace:
    try:
        check_slug(slug)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    workspaces = WorkspaceRepository(session)
    if await workspaces.by_id(slug):
        raise Conflict(f"workspace {slug!r} already exists")
    workspace = workspaces.add(Workspace(id=slug, name=name or slug))
    await session.flush()
    return workspace


async def add_membership(scope: WorkspaceScope, user: User, role: Role) -> Membership:
    memberships = MembershipRepository(scope)
    if await memberships.by_user(user.id):
        raise Conflict(f"{user.email} is already a member of this workspace")
    membership = memberships.add(Membership(user_id=user.id, role=role.value))
    await scope.session.flush()
    audit.record(
        scope, "member.added", "membership", user.id, {"email": user.email, "role": role.value}
    )
    return membership


async def list_members(scope: WorkspaceScope) -> list[MemberRead]:
    return [
        MemberRead(user_id=user.id, email=user.email, role=Role(m.role), created_at=m.created_at)
        for m, user in await MembershipRepository(scope).with_users()
    ]


async def invite_member(scope: WorkspaceScope, email: str, role: Role) -> MemberInvited:
    """Add an account to the workspace, creating it (with a one-time password) if it is new."""
    user = await UserRepository(scope.session).by_email(email)
    initial_password = None
    if user is None:
        initial_password = generate_password()
        user = await create_user(scope.session, email, initial_password)
    membership = await add_membership(scope, user, role)
    return MemberInvited(
        user_id=user.id,
        email=user.email,
        role=role,
        created_at=membership.created_at,
        initial_password=initial_password,
    )


async def _membership_or_404(scope: WorkspaceScope, user_id: uuid.UUID) -> Membership:
    membership = await MembershipRepository(scope).by_user(user_id)
    if membership is None:
        raise NotFound("member not found")
    return membership


async def _refuse_losing_last_owner(scope: WorkspaceScope, membership: Membership) -> None:
    if (
        membership.role == Role.owner
        and await MembershipRepository(scope).count_role_locked(Role.owner) <= 1
    ):
        raise Conflict("a workspace must keep at least one owner")


async def change_role(scope: WorkspaceScope, user_id: uuid.UUID, role: Role) -> MemberRead:
    membership = await _membership_or_404(scope, user_id)
    if role != Role.owner:
        await _refuse_losing_last_owner(scope, membership)
    before = membership.role
    membership.role = role.value
    MembershipRepository(scope).touch(membership)
    await scope.session.flush()
    audit.record(
        scope, "member.role_changed", "membership", user_id, {"role": [before, role.value]}
    )
    user = await UserRepository(scope.session).by_id(user_id)
    assert user is not None
    return MemberRead(
        user_id=user_id, email=user.email, role=role, created_at=membership.created_at
    )


async def remove_member(scope: WorkspaceScope, user_id: uuid.UUID) -> None:
    """Remove a member and revoke their tokens here (re-adding them must not revive old tokens)."""
    membership = await _membership_or_404(scope, user_id)
    await _refuse_losing_last_owner(scope, membership)
    await MembershipRepository(scope).remove(membership)
    revoked = await revoke_tokens_of(scope, user_id)
    await end_sessions_of(scope, user_id)
    audit.record(scope, "member.removed", "membership", user_id, {"tokens_revoked": revoked})


async def workspace_ids(session: AsyncSession) -> Sequence[str]:
    return await WorkspaceRepository(session).all_ids()
