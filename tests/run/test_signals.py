"""Run-end signals on a real PostgreSQL: the trigger tells a run's end at its commit, a
`?wait=true` waiter is woken by it rather than by reading again, and a listener whose connection
is cut wakes its waiters and listens again."""

from __future__ import annotations

import asyncio
import gc
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from connectorhub.execution import service
from connectorhub.hub import Hub
from connectorhub.run.signals import APPLICATION_NAME, RunSignals
from tests.execution.test_endpoints import execute, http_connector, install
from tests.fixtures.factories import make_workspace

pytestmark = pytest.mark.xdist_group("run-signals")


async def finished_execution(hub: Hub, client, api) -> tuple[str, uuid.UUID]:
    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"name": "Ada"})
    ws = await make_workspace(hub)
    connector = await install(client, ws, http_connector(api))
    done = await execute(client, ws, connector["id"], {"user": 7, "password": "pw"}, wait="true")
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    return ws.slug, uuid.UUID(done.json()["id"])


async def set_status(hub: Hub, tenant: str, execution_id: uuid.UUID, status: str) -> None:
    async with hub.work.workspace(tenant, "test") as scope:
        await scope.session.execute(
            text("UPDATE connector_executions SET status = :status WHERE id = :id"),
            {"status": status, "id": execution_id},
        )


def signals_of(hub: Hub) -> RunSignals:
    assert hub.run_signals is not None
    return hub.run_signals


async def test_an_end_is_told_at_its_commit_not_before(postgres_hub, postgres_client, api):
    tenant, execution_id = await finished_execution(postgres_hub, postgres_client, api)
    signals = signals_of(postgres_hub)
    await signals.ready(wait=5)
    await set_status(postgres_hub, tenant, execution_id, "running")  # not an end: no signal
    ended = signals.watcher("connector_executions", execution_id)
    async with postgres_hub.work.workspace(tenant, "test") as scope:
        await scope.session.execute(
            text("UPDATE connector_executions SET status = 'failed' WHERE id = :id"),
            {"id": execution_id},
        )
        await asyncio.sleep(0.3)
        assert not ended.is_set()  # still uncommitted: nobody may read it yet
    await asyncio.wait_for(ended.wait(), 10)
    other = signals.watcher("connector_executions", uuid.uuid4())
    await set_status(postgres_hub, tenant, execution_id, "running")
    await set_status(postgres_hub, tenant, execution_id, "succeeded")
    await asyncio.sleep(0.3)
    assert not other.is_set()  # another run's end wakes no one else


async def test_a_waiter_is_woken_by_the_end_not_by_reading_again(
    postgres_hub, postgres_client, api, monkeypatch
):
    tenant, execution_id = await finished_execution(postgres_hub, postgres_client, api)
    await set_status(postgres_hub, tenant, execution_id, "running")
    # Its only reads: at the start, when told, and at the 120 s deadline. A finished answer
    # within the 30 s below can only have come from the signal.
    monkeypatch.setattr(service, "FALLBACK_SECONDS", 120)
    await signals_of(postgres_hub).ready(wait=5)  # so the end below is told, not missed
    waiting = asyncio.create_task(
        service.wait_until_finished(
            postgres_hub.work, tenant, execution_id, seconds=120,
            signals=signals_of(postgres_hub),
        )
    )  # fmt: skip
    await asyncio.sleep(0.5)
    assert not waiting.done()
    await set_status(postgres_hub, tenant, execution_id, "succeeded")
    execution = await asyncio.wait_for(waiting, 30)
    assert execution.status == "succeeded"


async def test_a_cut_listener_wakes_its_waiters_and_listens_again(
    postgres_hub, postgres_client, postgres_database, api
):
    tenant, execution_id = await finished_execution(postgres_hub, postgres_client, api)
    signals = signals_of(postgres_hub)
    await signals.ready(wait=5)
    admin = create_async_engine(postgres_database.admin_url, isolation_level="AUTOCOMMIT")
    try:
        unrelated = signals.watcher("connector_executions", uuid.uuid4())
        async with admin.connect() as connection:
            cut = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
        assert cut >= 1
        # Whatever ended while it was away may have gone untold: every waiter reads again.
        await asyncio.wait_for(unrelated.wait(), 10)
    finally:
        await admin.dispose()
    await set_status(postgres_hub, tenant, execution_id, "running")
    ended = signals.watcher("connector_executions", execution_id)
    for _ in range(100):  # until it listens again: then the next end is told
        await signals.ready(wait=5)
        await set_status(postgres_hub, tenant, execution_id, "succeeded")
        try:
            await asyncio.wait_for(ended.wait(), 0.5)
            break
        except TimeoutError:
            await set_status(postgres_hub, tenant, execution_id, "running")
    assert ended.is_set()


def test_a_watcher_nobody_waits_on_goes_away_with_its_holder():
    # A `?wait=true` answer watches from before its commit; if that commit fails the answer is
    # never sent, and nothing may stay behind for a run that will never be.
    signals = RunSignals("postgresql://unused")
    kept = signals.watcher("connector_executions", "a")
    signals.watcher("connector_executions", "b")  # dropped at once
    gc.collect()
    signals._prune()
    assert list(signals._watchers) == ["connector_executions:a"]
    signals.forget("connector_executions", "a", kept)
    assert signals._watchers == {}
