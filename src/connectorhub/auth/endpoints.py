from __future__ import annotations

import uuid

from fastapi import Response, status

from connectorhub.auth import platform_roles, service
from connectorhub.auth.dependencies import MemberContext, ViewerContext, WritableViewer
from connectorhub.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    MeRead,
    PasswordChange,
    PlatformRoleGrant,
    PlatformUserRead,
)
from connectorhub.kit.routing import hub_router

router = hub_router(tags=["auth"])


@router.get("/me", response_model=MeRead)
async def me(context: ViewerContext) -> MeRead:
    p = context.principal
    return MeRead(
        user_id=p.user_id, email=p.email, workspace=p.tenant_id, role=p.effective_role.value,
        scopes=list(p.scopes), platform_role=p.platform_role,
    )  # fmt: skip


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses={400: {}})
async def change_password(body: PasswordChange, context: MemberContext) -> None:
    """Change your own password (needs the current one)."""
    await service.change_own_password(
        context.scope.session, context.principal.user_id, body.current_password, body.new_password
    )


@router.get("/tokens", response_model=list[ApiTokenRead])
async def list_tokens(context: ViewerContext):
    return await service.list_tokens(context.scope, context.principal)


@router.post("/tokens", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(
    body: ApiTokenCreate, context: MemberContext, response: Response
) -> ApiTokenCreated:
    """A token for the caller in this workspace. Its value is in this response only."""
    scopes = [s.value for s in body.scopes]
    row, token = await service.issue_token(
        context.scope, context.principal.user_id, body.name, scopes, body.expires_in_days
    )
    created = ApiTokenCreated.model_validate(
        {**ApiTokenRead.model_validate(row).model_dump(), "token": token}
    )
    response.headers["Cache-Control"] = "no-store"
    return created


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
async def revoke_token(token_id: uuid.UUID, context: ViewerContext) -> None:
    """Revoke a token: your own, or (admins) any of the workspace."""
    await service.revoke_token(context.scope, context.principal, token_id)


@router.get(
    "/admin/platform-roles", response_model=list[PlatformUserRead],
    responses={403: {"description": "The caller holds no platform role"}},
)  # fmt: skip
async def list_platform_roles(context: ViewerContext) -> list[PlatformUserRead]:
    """Who holds a platform role (developer, admin, owner)."""
    users = await platform_roles.platform_users(context.scope.session, context.principal)
    return [PlatformUserRead.model_validate(user) for user in users]


@router.post(
    "/admin/platform-roles", response_model=PlatformUserRead,
    responses={
        403: {"description": "Not a platform owner"}, 404: {"description": "No such user"},
        409: {"description": "The last platform owner"},
    },
)  # fmt: skip
async def grant_platform_role(body: PlatformRoleGrant, context: WritableViewer) -> PlatformUserRead:
    """Platform owners: give a user a platform role, or `none` to take it away."""
    user = await platform_roles.set_platform_role(
        context.scope.session, context.principal, body.email, body.role, context.scope
    )
    return PlatformUserRead.model_validate(user)
