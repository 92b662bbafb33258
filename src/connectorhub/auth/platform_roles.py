"""Platform roles (SPEC §3): who curates official templates and moderates the marketplace.

Granted by a platform owner (the panel, the API) or an operator (the CLI, which has no principal).
The last platform owner is never demoted, so someone can always grant roles from the panel.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.audit import service as audit
from connectorhub.auth.models import User
from connectorhub.auth.repository import UserRepository
from connectorhub.auth.schemas import PlatformRole
from connectorhub.auth.service import Principal
from connectorhub.exceptions import Conflict, Forbidden, NotFound
from connectorhub.kit.repository import WorkspaceScope


async def platform_users(session: AsyncSession, principal: Principal | None) -> Sequence[User]:
    """Everyone holding a platform role. Raises Forbidden for callers without one."""
    if principal is not None and not principal.has_platform_role:
        raise Forbidden("only platform roles see who holds platform roles")
    return await UserRepository(session).with_platform_role()


async def set_platform_role(
    session: AsyncSession, principal: Principal | None, email: str, role: PlatformRole,
    scope: WorkspaceScope | None = None,
) -> User:  # fmt: skip
    """Give `email` a platform role (`none` takes it away). `principal` None: an operator at the
    CLI. The change is audited in `scope`, the granting owner's workspace (the CLI has none).
    Raises Forbidden (not a platform owner), NotFound (no such user), Conflict (demoting the
    last platform owner)."""
    if principal is not None and not principal.is_platform_owner:
        raise Forbidden("only platform owners grant platform roles")
    users = UserRepository(session)
    user = await users.by_email(email.strip())
    if user is None:
        raise NotFound(f"no user {email.strip()!r}")
    value = None if role is PlatformRole.none else role.value
    if user.platform_role == "owner" and value != "owner":
        owners = [u for u in await users.with_platform_role() if u.platform_role == "owner"]
        if len(owners) <= 1:
            raise Conflict("this is the last platform owner: make someone else owner first")
    user.platform_role = value
    await session.flush()
    if scope is not None:
        audit.record(scope, "platform_role.changed", "user", user.id, {"role": role.value})
    return user
