"""A sync run by `connectorhub worker` on PostgreSQL, the worker SIGKILLed mid-stream: the
workers' stalled-job retry gives the same job to a second worker, which resumes from the last
saved state. Every row arrives, none twice. The tap is the throttled fake one
(tests/fixtures/fake_tap.py), a real subprocess installed as a plugin like any tap."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import select

from connectorhub.db import libpq_conninfo
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync.destination import identifier
from connectorhub.sync.models import SyncRun
from tests.conftest import TEST_PLUGINS_DIR
from tests.fixtures import fake_tap
from tests.fixtures.factories import make_workspace
from tests.sync.test_sync import discover_and_pick, wait_sync_finished
from tests.worker.conftest import worker_process

ROWS = 20_000

pytestmark = [pytest.mark.slow, pytest.mark.tap, pytest.mark.xdist_group("worker-sync")]


async def test_a_worker_killed_mid_sync_is_resumed_by_another(
    queue_database, queuing_hub, client, tmp_path
):
    ws = await make_workspace(queuing_hub)
    headers = ws.owner.headers
    created = await client.post(
        "/api/connectors",
        json={
            "catalog_key": fake_tap.CATALOG_KEY,
            "name": "Orders",
            "config": fake_tap.config(ROWS),
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    connector = created.json()
    await discover_and_pick(
        client, ws, connector["id"], replication_method="INCREMENTAL", replication_key="id"
    )
    queued = await client.post(f"/api/connectors/{connector['id']}/sync", headers=headers)
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["id"]

    env = {
        "CONNECTORHUB_PLUGINS_DIR": str(TEST_PLUGINS_DIR),
        "CONNECTORHUB_WAREHOUSE_URL": queue_database.admin_url,
    }
    with worker_process(queue_database, "first", tmp_path, **env) as first:
        saved = None
        for _ in range(1200):  # until a state after some (not all) rows is saved
            async with queuing_hub.work.transaction() as session:
                await WorkspaceScope.open(session, ws.slug, "test")
                saved = await session.scalar(select(SyncRun).where(SyncRun.id == run_id))
            if saved is not None and saved.state_after:
                break
            assert first.poll() is None, "".join(first.output)  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        assert saved is not None and saved.state_after, "".join(first.output)  # type: ignore[attr-defined]
        first.kill()  # SIGKILL mid-stream: the job stays "doing", its heartbeat stops
        first.wait(timeout=10)
    loaded_before = sum(saved.rows.values())
    assert 0 < loaded_before < ROWS

    with worker_process(queue_database, "second", tmp_path, **env) as second:
        run = await wait_sync_finished(client, ws, run_id, seconds=180)
        log = "".join(second.output)  # type: ignore[attr-defined]
    assert run["status"] == "succeeded" and run["attempt"] == 2, (run, log)
    assert run["state_before"] == saved.state_after  # resumed from the saved bookmark
    assert "lost its worker: retrying it" in log

    schema = identifier(f"{ws.slug}__{connector['name']}")
    with psycopg.connect(libpq_conninfo(queue_database.admin_url)) as connection:
        total, distinct = connection.execute(
            f'SELECT count(*), count(DISTINCT id) FROM "{schema}"."public_orders"'
        ).fetchone()
    assert total == distinct == ROWS
