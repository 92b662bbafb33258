"""Accounts and API tokens: create, authenticate, list, revoke."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.audit import service as audit
from connectorhub.auth.models import ApiToken, User
from connectorhub.auth.passwords import hash_password, verify_password
from connectorhub.auth.repository import (
    ApiTokenRepository,
    TokenLookup,
    UserRepository,
    WebSessionRepository,
)
from connectorhub.exceptions import BadRequest, Conflict, NotFound, ValidationFailed
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.tenant.models import Role

TOKEN_PREFIX = "chub_"
# last_used_at is written at most this often, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (argon2 is for guessable passwords).
    return hashlib.sha256(token.encode()).hexdigest()


# Platform roles (SPEC §3), least to most: `developer` edits official template drafts, `admin`
# also publishes them and moderates community ones, `owner` also manages platform roles.
PLATFORM_ROLES = ("developer", "admin", "owner")


@dataclass(frozen=True)
class Principal:
    """Who is calling, in which workspace, with what effective role."""

    user_id: uuid.UUID
    email: str
    tenant_id: str
    role: Role
    scopes: tuple[str, ...]
    token_id: uuid.UUID | None
    platform_role: str | None

    @property
    def effective_role(self) -> Role:
        # A read-only token never acts above viewer, whatever its user's role.
        return self.role if "write" in self.scopes else Role.viewer

    @property
    def has_platform_role(self) -> bool:
        """Sees the platform panel (what it may do there is one of the properties below)."""
        return self.platform_role in PLATFORM_ROLES

    @property
    def authors_official(self) -> bool:
        """Creates and edits official template drafts: every platform role (never read-only)."""
        return self.platform_role in PLATFORM_ROLES and "write" in self.scopes

    @property
    def is_platform_admin(self) -> bool:
        """Publishes official templates and moderates community ones (a read-only token never).
        A `developer` is not one: it edits official drafts only."""
        return self.platform_role in ("owner", "admin") and "write" in self.scopes

    @property
    def is_platform_owner(self) -> bool:
        """Grants and takes away platform roles."""
        return self.platform_role == "owner" and "write" in self.scopes


async def create_user(
    session: AsyncSession, email: str, password: str | None, platform_role: str | None = None
) -> User:
    users = UserRepository(session)
    if await users.by_email(email):
        raise Conflict(f"a user with email {email} already exists")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    user = User(
        email=email.lower(),
        password_hash=hash_password(password) if password else None,
        platform_role=platform_role,
    )
    try:
        async with session.begin_nested():  # a concurrent request may take the email first
            users.add(user)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"a user with email {email} already exists") from None
    return user


MIN_PASSWORD_LENGTH = 8


async def set_password(session: AsyncSession, user: User, new_password: str) -> None:
    """Replace a password (an operator resetting a lost one, or the user after checking the old)."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            {"new_password": [f"Must be at least {MIN_PASSWORD_LENGTH} characters."]}
        )
    user.password_hash = hash_password(new_password)


async def change_own_password(
    session: AsyncSession, user_id: uuid.UUID, current: str, new: str
) -> None:
    """Raises ValidationFailed when the current password is wrong or the new one too short."""
    user = await UserRepository(session).by_id(user_id)
    if user is None or not verify_password(user.password_hash, current):
        raise ValidationFailed({"current_password": ["That is not your current password."]})
    await set_password(session, user, new)


async def issue_token(
    scope: WorkspaceScope,
    user_id: uuid.UUID,
    name: str,
    scopes: Sequence[str] = ("read", "write"),
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for `user_id` in this workspace. Returns the row and the token (shown once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    row = ApiTokenRepository(scope).add(
        ApiToken(
            user_id=user_id,
            name=name,
            prefix=token[: len(TOKEN_PREFIX) + 6],
            token_hash=hash_token(token),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
    )
    await scope.session.flush()
    audit.record(scope, "token.created", "api_token", row.id, {"name": name, "scopes": row.scopes})
    return row, token


async def resolve_token(session: AsyncSession, token: str) -> tuple[ApiToken, User, str] | None:
    """The live token for a presented token, its user and their role in the token's workspace;
    None when unknown, revoked, expired, or the user is no longer a member there."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = await TokenLookup(session).with_member(hash_token(token))
    if found is None:
        return None
    row = found[0]
    now = datetime.now(UTC)
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return found


async def record_token_use(session: AsyncSession, row: ApiToken, *, read_only: bool) -> None:
    """Stamp last_used_at (at most once a minute). Call inside the token's workspace scope."""
    now = datetime.now(UTC)
    if row.last_used_at is not None and now - row.last_used_at <= LAST_USED_RESOLUTION:
        return
    row.last_used_at = now
    if read_only and session.get_bind().dialect.name == "postgresql":
        # A read-only request writes only this stamp: losing it in a crash is harmless,
        # waiting for the WAL flush on every such GET is not. (Never for real writes.)
        await session.execute(text("SET LOCAL synchronous_commit TO OFF"))


async def list_tokens(scope: WorkspaceScope, principal: Principal) -> Sequence[ApiToken]:
    """Admins see every live token of the workspace; others only their own."""
    tokens = await ApiTokenRepository(scope).listed()
    if principal.effective_role.at_least(Role.admin):
        return tokens
    return [t for t in tokens if t.user_id == principal.user_id]


async def revoke_tokens_of(scope: WorkspaceScope, user_id: uuid.UUID) -> int:
    """Revoke every live token of `user_id` in this workspace; returns how many."""
    repository = ApiTokenRepository(scope)
    rows = [row for row in await repository.listed() if row.user_id == user_id]
    for row in rows:
        row.revoked_at = datetime.now(UTC)
        repository.touch(row)
    return len(rows)


async def end_sessions_of(scope: WorkspaceScope, user_id: uuid.UUID) -> None:
    """Sign `user_id` out of this workspace in every browser."""
    await WebSessionRepository(scope.session).delete_for(user_id, scope.tenant_id)


async def revoke_token(scope: WorkspaceScope, principal: Principal, token_id: uuid.UUID) -> None:
    """Revoke a token. Admins revoke any token of the workspace; others only their own."""
    repository = ApiTokenRepository(scope)
    row = await repository.get(token_id)
    if row is None or row.revoked_at is not None:
        raise NotFound("token not found")
    if row.user_id != principal.user_id and not principal.effective_role.at_least(Role.admin):
        raise NotFound("token not found")
    row.revoked_at = datetime.now(UTC)
    repository.touch(row)
    audit.record(scope, "token.revoked", "api_token", row.id, {"name": row.name})
