"""Workspaces, their members, and invitations (a membership only once its invitee accepts)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.audit import service as audit
from connectorhub.auth.models import User
from connectorhub.auth.repository import UserRepository
from connectorhub.auth.service import (
    MIN_PASSWORD_LENGTH,
    create_user,
    end_sessions_of,
    hash_token,
    revoke_tokens_of,
)
from connectorhub.auth.sessions import check_password
from connectorhub.db import bind_tenant
from connectorhub.exceptions import BadRequest, Conflict, NotFound, ValidationFailed
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.tenant.models import Invitation, InvitationStatus, Membership, Role, Workspace
from connectorhub.tenant.repository import (
    InvitationLookup,
    InvitationRepository,
    MembershipRepository,
    WorkspaceRepository,
)
from connectorhub.tenant.schemas import (
    InvitationAccepted,
    InvitationCreated,
    InvitationRead,
    MemberRead,
    check_slug,
)

INVITATION_LIFETIME = timedelta(days=7)
JOIN_PATH = "/join/"  # the invitee's page, under the UI: JOIN_PATH + token


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


async def invite_member(scope: WorkspaceScope, email: str, role: Role) -> InvitationCreated:
    """Invite `email` with `role`: a pending invitation, never a membership (the invitee accepts
    or declines it), and the same answer whether or not the email has an account. A pending
    invitation of the same email here is replaced. Raises Conflict when it is a member already.
    """
    email = email.lower()
    user = await UserRepository(scope.session).by_email(email)
    if user is not None and await MembershipRepository(scope).by_user(user.id):
        raise Conflict(f"{email} is already a member of this workspace")
    now = utcnow()
    invitations = InvitationRepository(scope)
    for earlier in await invitations.pending_for(email, now):
        earlier.revoked_at = now
        invitations.touch(earlier)
    token = secrets.token_urlsafe(32)
    invitation = invitations.add(
        Invitation(
            email=email,
            role=role.value,
            token_hash=hash_token(token),
            expires_at=now + INVITATION_LIFETIME,
        )
    )
    await scope.session.flush()
    audit.record(
        scope, "member.invited", "invitation", invitation.id, {"email": email, "role": role.value}
    )
    return InvitationCreated(
        **_invitation_read(invitation, now).model_dump(), token=token, accept_path=JOIN_PATH + token
    )


def _invitation_read(invitation: Invitation, now: datetime) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=Role(invitation.role),
        status=invitation.status_at(now),
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
    )


async def list_invitations(scope: WorkspaceScope) -> list[InvitationRead]:
    """This workspace's pending invitations, oldest first."""
    now = utcnow()
    return [_invitation_read(i, now) for i in await InvitationRepository(scope).pending(now)]


async def revoke_invitation(scope: WorkspaceScope, invitation_id: uuid.UUID) -> None:
    """Raises NotFound (not this workspace's), Conflict (accepted, declined, expired already)."""
    repository = InvitationRepository(scope)
    invitation = await repository.locked(invitation_id)
    if invitation is None:
        raise NotFound("invitation not found")
    now = utcnow()
    status = invitation.status_at(now)
    if status != InvitationStatus.invited:
        raise Conflict(f"this invitation is {status.value} already")
    invitation.revoked_at = now
    repository.touch(invitation)
    audit.record(
        scope, "invitation.revoked", "invitation", invitation.id, {"email": invitation.email}
    )


async def _pending_by_token(session: AsyncSession, token: str) -> tuple[Invitation, str]:
    found = await InvitationLookup(session).by_token_hash(hash_token(token))
    if found is None or found[0].status_at(utcnow()) != InvitationStatus.invited:
        raise NotFound("this invitation link is not valid any more")
    return found


async def respond(
    session: AsyncSession, user_id: uuid.UUID, token: str, *, accept: bool, back_to: str | None
) -> InvitationAccepted:
    """Accept (join the workspace with the invited role) or decline the invitation an
    invitation link's `token` names, as user `user_id`, whose email it must be addressed to.

    Only the token answers an invitation, never the email alone: an account for an email is
    not proof of owning it (an earlier invite may have let someone else choose its password).
    The inviting workspace is bound for that, then `back_to` (the caller's own workspace, or
    none) again. Raises NotFound (unknown, used, revoked, expired, or addressed to another
    email)."""
    seen, name = await _pending_by_token(session, token)
    user = await UserRepository(session).by_id(user_id)
    if user is None or user.email.lower() != seen.email:
        raise NotFound("this invitation link is not valid any more")
    return await _answer(session, user, seen, name, accept=accept, back_to=back_to)


async def _answer(
    session: AsyncSession, user: User, seen: Invitation, name: str, *, accept: bool,
    back_to: str | None,
) -> InvitationAccepted:  # fmt: skip
    """Answer `seen` (found by its token, addressed to `user`) in its workspace, under the
    row's lock: another answer or a revocation meanwhile wins."""
    scope = await WorkspaceScope.open(session, seen.tenant_id, actor=str(user.id))
    repository = InvitationRepository(scope)
    invitation = await repository.locked(seen.id)
    assert invitation is not None  # bound to its workspace now, and invitations are not deleted
    if invitation.status_at(utcnow()) != InvitationStatus.invited:  # answered meanwhile
        await bind_tenant(session, back_to or "")
        raise NotFound("this invitation link is not valid any more")
    now = utcnow()
    if accept:
        if await MembershipRepository(scope).by_user(user.id) is None:
            await add_membership(scope, user, Role(invitation.role))
        invitation.accepted_at = now
    else:
        invitation.declined_at = now
    repository.touch(invitation)
    action = "invitation.accepted" if accept else "invitation.declined"
    audit.record(scope, action, "invitation", invitation.id, {"email": user.email})
    await session.flush()  # while the inviting workspace is bound: its rows pass RLS
    await bind_tenant(session, back_to or "")
    return InvitationAccepted(
        workspace_id=invitation.tenant_id, workspace_name=name, role=Role(invitation.role)
    )


async def invitation_by_token(session: AsyncSession, token: str) -> InvitationRead | None:
    """The pending invitation an invitation link carries (None: unknown, used or expired)."""
    try:
        invitation, _ = await _pending_by_token(session, token)
    except NotFound:
        return None
    return _invitation_read(invitation, utcnow())


async def join(session: AsyncSession, token: str, password: str) -> tuple[User, InvitationAccepted]:
    """Accept the invitation a link carries as the account of its email: the account's own
    password, or, for an email without an account, a new account with `password`. Raises
    NotFound (the link is not valid any more), BadRequest (a password too short: refused
    before anything is looked up, so it says nothing of the account), ValidationFailed (the
    wrong password of an existing account)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    invitation, name = await _pending_by_token(session, token)
    user = await UserRepository(session).by_email(invitation.email)
    if user is None:
        user = await create_user(session, invitation.email, password)
    elif await check_password(session, invitation.email, password) is None:
        raise ValidationFailed({"password": ["Wrong password for this account."]})
    return user, await _answer(session, user, invitation, name, accept=True, back_to=None)


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
