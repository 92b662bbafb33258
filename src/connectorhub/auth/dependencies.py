"""Typed request dependencies: the transaction, the caller, and the role a route needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.auth.repository import UserRepository
from connectorhub.auth.service import Principal, resolve_token
from connectorhub.exceptions import Forbidden, NotAuthenticated
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.tenant.models import Role
from connectorhub.tenant.repository import MembershipRepository

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer chub_…`")


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    async with request.app.state.hub.sessionmaker() as session, session.begin():
        yield session


# scope="function": the commit runs before the response goes out, so a failed commit is an error
# response rather than a 200 for data that was never saved.
DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]


def _secret_box(request: Request) -> SecretBox:
    return request.app.state.hub.box


Box = Annotated[SecretBox, Depends(_secret_box)]


@dataclass(frozen=True)
class AuthContext:
    """The caller and the workspace-bound transaction a route works in."""

    principal: Principal
    scope: WorkspaceScope
    box: SecretBox


async def _principal_from_token(
    session: AsyncSession, token: str
) -> tuple[Principal, WorkspaceScope]:
    row = await resolve_token(session, token)
    if row is None:
        raise NotAuthenticated("invalid, expired or revoked token")
    scope = await WorkspaceScope.open(session, row.tenant_id, actor=str(row.user_id))
    membership = await MembershipRepository(scope).by_user(row.user_id)
    user = await UserRepository(session).by_id(row.user_id)
    if membership is None or user is None:
        raise NotAuthenticated("this token's user is no longer a member of its workspace")
    principal = Principal(
        user_id=user.id,
        email=user.email,
        tenant_id=row.tenant_id,
        role=Role(membership.role),
        scopes=tuple(row.scopes),
        token_id=row.id,
        platform_role=user.platform_role,
    )
    return principal, scope


async def _auth_context(
    request: Request,
    session: DbSession,
    box: Box,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthContext:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    principal, scope = await _principal_from_token(session, credentials.credentials)
    request.state.principal = principal
    return AuthContext(principal=principal, scope=scope, box=box)


def require_role(minimum: Role):
    async def dependency(context: Annotated[AuthContext, Depends(_auth_context)]) -> AuthContext:
        if not context.principal.effective_role.at_least(minimum):
            raise Forbidden(f"this needs the {minimum.value} role or higher in the workspace")
        return context

    return dependency


ViewerContext = Annotated[AuthContext, Depends(require_role(Role.viewer))]
MemberContext = Annotated[AuthContext, Depends(require_role(Role.member))]
AdminContext = Annotated[AuthContext, Depends(require_role(Role.admin))]
OwnerContext = Annotated[AuthContext, Depends(require_role(Role.owner))]
