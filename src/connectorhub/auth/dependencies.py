"""Typed request dependencies: the transaction, the caller, and the role a route needs."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.auth import sessions
from connectorhub.auth.repository import UserRepository
from connectorhub.auth.service import Principal, record_token_use, resolve_token
from connectorhub.exceptions import (
    CsrfRejected,
    Forbidden,
    LoginRequired,
    NotAuthenticated,
    raises,
)
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.tenant.models import Role
from connectorhub.tenant.repository import MembershipRepository

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer chub_…`")


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    async with request.app.state.hub.work.transaction() as session:
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
    session: AsyncSession, token: str, *, read_only: bool
) -> tuple[Principal, WorkspaceScope]:
    found = await resolve_token(session, token)
    if found is None:
        raise NotAuthenticated("invalid, expired or revoked token")
    row, user, role = found
    scope = await WorkspaceScope.open(session, row.tenant_id, actor=str(row.user_id))
    await record_token_use(session, row, read_only=read_only)
    principal = Principal(
        user_id=user.id,
        email=user.email,
        tenant_id=row.tenant_id,
        role=Role(role),
        scopes=tuple(row.scopes),
        token_id=row.id,
        platform_role=user.platform_role,
    )
    return principal, scope


@raises(NotAuthenticated)
async def _auth_context(
    request: Request,
    session: DbSession,
    box: Box,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthContext:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    principal, scope = await _principal_from_token(
        session, credentials.credentials, read_only=request.method in {"GET", "HEAD", "OPTIONS"}
    )
    request.state.principal = principal
    return AuthContext(principal=principal, scope=scope, box=box)


def require_role(minimum: Role, caller=_auth_context):
    """A dependency: the caller (API token by default, or a browser session) with `minimum` role."""

    # Every member is at least a viewer: only a higher minimum can refuse anyone.
    @raises(*([Forbidden] if minimum.rank > 0 else []))
    async def dependency(context: AuthContext = Depends(caller)) -> AuthContext:
        if not context.principal.effective_role.at_least(minimum):
            raise Forbidden(f"this needs the {minimum.value} role or higher in the workspace")
        return context

    return dependency


ViewerContext = Annotated[AuthContext, Depends(require_role(Role.viewer))]


@raises(Forbidden)
async def _writable(context: ViewerContext) -> AuthContext:
    # What any member may do (viewers too), but never through a read-only token.
    if "write" not in context.principal.scopes:
        raise Forbidden("a read-only token cannot do this")
    return context


WritableViewer = Annotated[AuthContext, Depends(_writable)]
MemberContext = Annotated[AuthContext, Depends(require_role(Role.member))]
AdminContext = Annotated[AuthContext, Depends(require_role(Role.admin))]
OwnerContext = Annotated[AuthContext, Depends(require_role(Role.owner))]


# --- Browser pages: session cookie + CSRF token --------------------------------------------------

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class PageContext(AuthContext):
    """An AuthContext for a signed-in browser, with what the page shell needs."""

    csrf_token: str
    workspaces: list  # WorkspaceMembership rows for the switcher
    web_session_id: uuid.UUID | None = None  # what an OAuth state is bound to


async def _csrf_presented(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else None
    return None


async def _page_context(request: Request, session: DbSession, box: Box) -> PageContext:

    token = request.cookies.get(sessions.COOKIE_NAME)
    web_session = await sessions.resolve_session(session, token) if token else None
    if web_session is None:
        raise LoginRequired()
    if request.method in UNSAFE_METHODS:
        presented = await _csrf_presented(request)
        if not presented or not secrets.compare_digest(
            presented.encode(), web_session.csrf_token.encode()
        ):
            raise CsrfRejected()
    scope = await WorkspaceScope.open(
        session, web_session.tenant_id, actor=str(web_session.user_id)
    )
    membership = await MembershipRepository(scope).by_user(web_session.user_id)
    user = await UserRepository(session).by_id(web_session.user_id)
    if membership is None or user is None:
        await sessions.close_session(session, token or "")
        raise LoginRequired("You are no longer a member of that workspace. Please sign in again.")
    principal = Principal(
        user_id=user.id,
        email=user.email,
        tenant_id=web_session.tenant_id,
        role=Role(membership.role),
        scopes=("read", "write"),
        token_id=None,
        platform_role=user.platform_role,
    )
    request.state.principal = principal
    return PageContext(
        principal=principal,
        scope=scope,
        box=box,
        csrf_token=web_session.csrf_token,
        workspaces=await sessions.workspaces_of(session, user.id),
        web_session_id=web_session.id,
    )


PageViewer = Annotated[PageContext, Depends(require_role(Role.viewer, _page_context))]
PageMember = Annotated[PageContext, Depends(require_role(Role.member, _page_context))]
PageAdmin = Annotated[PageContext, Depends(require_role(Role.admin, _page_context))]
PageOwner = Annotated[PageContext, Depends(require_role(Role.owner, _page_context))]
