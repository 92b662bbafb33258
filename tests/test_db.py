"""db.UnitOfWork.exclusive: a lock held against every other user of the database — two hubs
(each its own engine and pool, as two processes have) on the same database."""

from __future__ import annotations

import asyncio

import pytest

from connectorhub.hub import Hub

pytestmark = pytest.mark.both_backends


async def test_exclusive_keeps_a_second_holder_out_until_the_first_leaves(hub):
    other = Hub(hub.settings)  # another engine: another process's connections (or file handles)
    entered = asyncio.Event()

    async def second() -> None:
        async with other.work.exclusive("oauth-token:test"):
            entered.set()

    try:
        async with hub.work.exclusive("oauth-token:test"):
            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.5)
            assert not entered.is_set()  # held here: the other one waits
            async with other.work.exclusive("oauth-token:another"):
                pass  # another name is not held up
        await asyncio.wait_for(waiting, 5)
        assert entered.is_set()
    finally:
        await other.engine.dispose()
