from __future__ import annotations

import uuid

from fastapi import Response, status

from connectorhub.auth.dependencies import OwnerContext, ViewerContext, WritableViewer
from connectorhub.kit.routing import hub_router
from connectorhub.tenant import service
from connectorhub.tenant.schemas import (
    InvitationAccepted,
    InvitationAnswer,
    InvitationCreated,
    InvitationRead,
    MemberInvite,
    MemberRead,
    MemberUpdate,
)

router = hub_router(tags=["members"])


@router.get("/members", response_model=list[MemberRead])
async def list_members(context: ViewerContext) -> list[MemberRead]:
    return await service.list_members(context.scope)


@router.post(
    "/members", response_model=InvitationCreated, status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Already a member"}},
)  # fmt: skip
async def invite_member(
    body: MemberInvite, context: OwnerContext, response: Response
) -> InvitationCreated:
    """Invite an email: a pending invitation its invitee accepts (never a membership at once),
    answered the same whether or not the email has an account."""
    response.headers["Cache-Control"] = "no-store"  # the invitation link's token, shown once
    return await service.invite_member(context.scope, body.email, body.role)


@router.patch("/members/{user_id}", response_model=MemberRead, responses={404: {}, 409: {}})
async def change_member_role(
    user_id: uuid.UUID, body: MemberUpdate, context: OwnerContext
) -> MemberRead:
    return await service.change_role(context.scope, user_id, body.role)


@router.delete(
    "/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}, 409: {}}
)
async def remove_member(user_id: uuid.UUID, context: OwnerContext) -> None:
    await service.remove_member(context.scope, user_id)


@router.get("/invitations", response_model=list[InvitationRead])
async def list_invitations(context: OwnerContext) -> list[InvitationRead]:
    """This workspace's pending invitations."""
    return await service.list_invitations(context.scope)


@router.delete(
    "/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {}, 409: {"description": "Accepted, declined or expired already"}},
)  # fmt: skip
async def revoke_invitation(invitation_id: uuid.UUID, context: OwnerContext) -> None:
    await service.revoke_invitation(context.scope, invitation_id)


@router.post(
    "/me/invitations/accept", response_model=InvitationAccepted,
    responses={404: {"description": "Unknown, used, revoked, expired, or not addressed to you"}},
)  # fmt: skip
async def accept_invitation(body: InvitationAnswer, context: WritableViewer) -> InvitationAccepted:
    """Join the workspace of the invitation whose link's token is given, if it is addressed to
    the caller's email: the token, not the email, is what answers an invitation."""
    principal = context.principal
    return await service.respond(
        context.scope.session, principal.user_id, body.token, accept=True,
        back_to=principal.tenant_id,
    )  # fmt: skip


@router.post(
    "/me/invitations/decline", status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "Unknown, used, revoked, expired, or not addressed to you"}},
)  # fmt: skip
async def decline_invitation(body: InvitationAnswer, context: WritableViewer) -> None:
    principal = context.principal
    await service.respond(
        context.scope.session, principal.user_id, body.token, accept=False,
        back_to=principal.tenant_id,
    )  # fmt: skip
