"""Browser sign-in: password check with throttling, server-side sessions, workspace switching."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.auth.models import User, WebSession
from connectorhub.auth.passwords import verify_password
from connectorhub.auth.repository import UserRepository, WebSessionRepository
from connectorhub.auth.service import hash_token
from connectorhub.exceptions import NotFound, TooManyRequests
from connectorhub.tenant.repository import MembershipLookup

SESSION_LIFETIME = timedelta(days=7)
COOKIE_NAME = "chub_session"


@dataclass
class LoginThrottle:
    """Slows repeated failed logins per account and per client address (in this process).

    After `free_attempts` failures within `window` seconds, each further attempt must wait
    `base_delay * 2**extra` seconds (capped), and is refused with 429 until then.
    """

    free_attempts: int = 5
    window: float = 900.0
    base_delay: float = 2.0
    max_delay: float = 60.0
    max_keys: int = 10_000  # bounded memory: the oldest keys go first
    _failures: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self._failures[key] if now - t < self.window]
        self._failures[key] = recent
        return recent

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            recent = self._recent(key, now)
            extra = len(recent) - self.free_attempts
            if extra >= 0:
                wait = min(self.base_delay * 2**extra, self.max_delay) - (now - recent[-1])
                if wait > 0:
                    raise TooManyRequests(
                        f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds.",
                        retry_after=int(wait) + 1,
                    )

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures[key].append(now)
        while len(self._failures) > self.max_keys:
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


async def check_password(session: AsyncSession, email: str, password: str) -> User | None:
    """The user whose password this is, or None (same work either way)."""
    user = await UserRepository(session).by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        return None
    user.last_login_at = datetime.now(UTC)
    return user


async def open_session(
    session: AsyncSession, user: User, tenant_id: str | None = None
) -> tuple[WebSession, str]:
    """Start a browser session in `tenant_id` (or the user's first workspace). Raises NotFound."""
    workspaces = await MembershipLookup(session).workspaces_of(user.id)
    if not workspaces:
        raise NotFound("this account does not belong to any workspace yet")
    chosen = (
        tenant_id if tenant_id in {w.tenant_id for w in workspaces} else workspaces[0].tenant_id
    )
    token = secrets.token_urlsafe(32)
    repository = WebSessionRepository(session)
    await repository.bind_user(user.id)
    row = repository.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            tenant_id=chosen,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=datetime.now(UTC) + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return row, token


async def resolve_session(session: AsyncSession, token: str) -> WebSession | None:
    """The live session of this cookie, or None. Its user's sessions are then this
    transaction's to change (sign out, switch workspace), nobody else's."""
    repository = WebSessionRepository(session)
    row = await repository.by_hash(hash_token(token))
    if row is None or row.expires_at <= datetime.now(UTC):
        return None
    await repository.bind_user(row.user_id)
    return row


async def close_session(session: AsyncSession, token: str) -> None:
    """End the session of this cookie (resolved in this transaction first)."""
    await WebSessionRepository(session).delete_by_hash(hash_token(token))


async def switch_workspace(session: AsyncSession, web_session: WebSession, tenant_id: str) -> None:
    """Point the session at another workspace the user belongs to. Raises NotFound."""
    workspaces = await MembershipLookup(session).workspaces_of(web_session.user_id)
    if tenant_id not in {w.tenant_id for w in workspaces}:
        raise NotFound("workspace not found")
    web_session.tenant_id = tenant_id


async def workspaces_of(session: AsyncSession, user_id: uuid.UUID):
    return await MembershipLookup(session).workspaces_of(user_id)
