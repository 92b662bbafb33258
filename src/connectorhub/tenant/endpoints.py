from __future__ import annotations

import uuid

from fastapi import Response, status

from connectorhub.auth.dependencies import OwnerContext, ViewerContext
from connectorhub.kit.routing import hub_router
from connectorhub.tenant import service
from connectorhub.tenant.schemas import MemberInvite, MemberInvited, MemberRead, MemberUpdate

router = hub_router(tags=["members"])


@router.get("/members", response_model=list[MemberRead])
async def list_members(context: ViewerContext) -> list[MemberRead]:
    return await service.list_members(context.scope)


@router.post(
    "/members", response_model=MemberInvited, status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Already a member"}},
)  # fmt: skip
async def invite_member(
    body: MemberInvite, context: OwnerContext, response: Response
) -> MemberInvited:
    response.headers["Cache-Control"] = "no-store"  # it may carry a one-time password
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
