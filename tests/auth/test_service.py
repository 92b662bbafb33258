"""Accounts: two sign-ups racing for one email."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from connectorhub.auth.service import create_user
from connectorhub.exceptions import Conflict
from tests.conftest import shared_postgres


async def test_two_sign_ups_racing_for_one_email_end_in_a_conflict(postgres_hub):
    """The second insert waits on the first's unique index entry and then fails: a Conflict
    (409), not an IntegrityError (500). On PostgreSQL, where the two can overlap."""
    email = f"racer-{uuid.uuid4().hex[:8]}@example.com"
    database = await shared_postgres()
    admin = create_async_engine(database.admin_url)
    try:
        async with postgres_hub.sessionmaker() as first, first.begin():
            await create_user(first, email, "the first password")

            async def second() -> None:
                async with postgres_hub.sessionmaker() as session, session.begin():
                    await create_user(session, email, "the second password")

            racing = asyncio.create_task(second())
            for _ in range(400):  # until the second waits on the first's row (bounded)
                async with admin.connect() as connection:
                    waiting = await connection.scalar(
                        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                             "'Lock' AND query ILIKE 'INSERT INTO users%'")
                    )  # fmt: skip
                if waiting or racing.done():
                    break
                await asyncio.sleep(0.05)
        with pytest.raises(Conflict):
            await racing
    finally:
        await admin.dispose()
