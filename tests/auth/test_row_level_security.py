"""PostgreSQL row-level security on web_sessions, as the non-superuser runtime role: a session is
its user's alone; the cookie lookup (before anyone is known) reads the one row it presents the
hash of, and writes nothing. The statements below carry no filter: only the policies stand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from connectorhub.auth import sessions
from connectorhub.auth.repository import UserRepository, WebSessionRepository
from connectorhub.auth.service import hash_token
from tests.fixtures.factories import make_workspace

COUNT = "SELECT count(*) FROM web_sessions WHERE user_id = ANY(:users)"


async def _signed_in(hub, member) -> str:
    """A browser session of `member`, opened by the real service; returns its cookie."""
    async with hub.sessionmaker() as session, session.begin():
        user = await UserRepository(session).by_id(member.user_id)
        _, token = await sessions.open_session(session, user)
    return token


async def test_no_one_bound_sees_no_sessions(postgres_hub):
    a = await make_workspace(postgres_hub)
    await _signed_in(postgres_hub, a.owner)
    async with postgres_hub.sessionmaker() as session, session.begin():
        assert await session.scalar(text("SELECT count(*) FROM web_sessions")) == 0


async def test_a_user_sees_and_changes_only_their_own_sessions(postgres_hub):
    a, b = await make_workspace(postgres_hub), await make_workspace(postgres_hub)
    mine, theirs = await _signed_in(postgres_hub, a.owner), await _signed_in(postgres_hub, b.owner)
    users = [a.owner.user_id, b.owner.user_id]
    async with postgres_hub.sessionmaker() as session, session.begin():
        resolved = await sessions.resolve_session(session, mine)
        assert resolved is not None and resolved.user_id == a.owner.user_id
        assert await session.scalar(text(COUNT), {"users": users}) == 1
        other = {"user": b.owner.user_id}
        assert (
            await session.execute(
                text("UPDATE web_sessions SET tenant_id = tenant_id WHERE user_id = :user"), other
            )
        ).rowcount == 0
        assert (
            await session.execute(text("DELETE FROM web_sessions WHERE user_id = :user"), other)
        ).rowcount == 0
    async with postgres_hub.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="row-level security"):
            async with session.begin():
                await sessions.resolve_session(session, mine)
                await session.execute(
                    text(
                        "INSERT INTO web_sessions (id, token_hash, user_id, tenant_id, csrf_token, "
                        "expires_at, created_at, updated_at) VALUES (:id, :hash, :user, :tenant, "
                        "'x', :expires, now(), now())"
                    ),
                    {
                        "id": uuid.uuid4(), "hash": uuid.uuid4().hex, "user": b.owner.user_id,
                        "tenant": b.slug, "expires": datetime.now(UTC) + timedelta(days=1),
                    },
                )  # fmt: skip
    async with postgres_hub.sessionmaker() as session, session.begin():
        # Theirs is intact, and still works for them.
        assert await sessions.resolve_session(session, theirs) is not None


async def test_the_cookie_lookup_reads_one_session_and_writes_none(postgres_hub):
    a, b = await make_workspace(postgres_hub), await make_workspace(postgres_hub)
    mine, _ = await _signed_in(postgres_hub, a.owner), await _signed_in(postgres_hub, b.owner)
    users = [a.owner.user_id, b.owner.user_id]
    async with postgres_hub.sessionmaker() as session, session.begin():
        found = await WebSessionRepository(session).by_hash(hash_token(mine))
        assert found is not None and found.user_id == a.owner.user_id
        await session.execute(
            text("SELECT set_config('app.session_token_hash', :h, true)"), {"h": hash_token(mine)}
        )
        assert await session.scalar(text(COUNT), {"users": users}) == 1  # that one row only
        deleted = await session.execute(
            text("DELETE FROM web_sessions WHERE token_hash = :h"), {"h": hash_token(mine)}
        )
        assert deleted.rowcount == 0  # read only: the user is not bound yet
    async with postgres_hub.sessionmaker() as session, session.begin():
        assert await sessions.resolve_session(session, mine) is not None
