"""A `connectorhub sync` process killed with SIGKILL mid-stream; the next sync resumes from the
last saved state: every row arrives, none twice. The tap is the throttled fake one
(tests/fixtures/fake_tap.py), a real subprocess installed as a plugin like any tap."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest
from sqlalchemy import select

from connectorhub.config import Settings
from connectorhub.connector import service as connectors
from connectorhub.connector.schemas import ConnectorCreate
from connectorhub.hub import Hub
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import service as syncs
from connectorhub.sync.models import SyncRun
from connectorhub.sync.schemas import StreamSelection
from connectorhub.sync.tasks import run_connection_test
from connectorhub.sync.warehouse import destination_for
from tests.conftest import TEST_KEYS, TEST_PLUGINS_DIR
from tests.fixtures import fake_tap
from tests.fixtures.live_server import CLI, hub_env

ROWS = 20_000

pytestmark = [pytest.mark.slow, pytest.mark.tap]


@pytest.mark.parametrize("warehouse", ["duckdb", "sqlite"])
async def test_a_killed_sync_resumes_without_loss_or_duplicates(
    tmp_path, fake_tap_catalog, warehouse
):
    env = hub_env(
        tmp_path, CONNECTORHUB_SECRET_KEYS=TEST_KEYS, CONNECTORHUB_PLUGINS_DIR=str(TEST_PLUGINS_DIR),
        CONNECTORHUB_CATALOG_EXTRA_DIR=str(fake_tap_catalog), CONNECTORHUB_WAREHOUSE=warehouse,
    )  # fmt: skip
    for command in (["db", "upgrade"], ["workspaces", "create", "shop"]):
        done = await asyncio.create_subprocess_exec(*CLI, *command, env=env)
        assert await done.wait() == 0
    hub = Hub(
        Settings(
            data_dir=tmp_path, secret_keys=TEST_KEYS, plugins_dir=TEST_PLUGINS_DIR,
            catalog_extra_dir=fake_tap_catalog, warehouse=warehouse,
        )
    )  # fmt: skip
    await hub.start()
    try:
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, "shop", "test")
            connector = await connectors.install(
                scope, hub.box,
                ConnectorCreate(catalog_key=fake_tap.CATALOG_KEY, name="Orders",
                                config=fake_tap.config(ROWS)),
            )  # fmt: skip
        tested = await run_connection_test(hub.context, "shop", connector.id)
        assert tested.ok, tested
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, "shop", "test")
            await syncs.select_streams(
                scope, connector.id,
                StreamSelection.model_validate({"streams": [{
                    "name": "public-orders", "replication_method": "INCREMENTAL",
                    "replication_key": "id"}]}),
            )  # fmt: skip

        first = await asyncio.create_subprocess_exec(
            *CLI, "sync", "Orders", "--workspace", "shop", env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        saved = None
        for _ in range(1200):  # until a state after some (not all) rows is saved
            async with hub.work.transaction() as session:
                await WorkspaceScope.open(session, "shop", "test")
                run = await session.scalar(
                    select(SyncRun).where(SyncRun.connector_id == connector.id)
                )
            if run is not None and run.state_after:
                saved = run
                break
            assert first.returncode is None, (await first.stdout.read()).decode()
            await asyncio.sleep(0.05)
        assert saved is not None, "no state was saved before the end"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        loaded_before = sum(saved.rows.values())
        assert 0 < loaded_before < ROWS

        second = await asyncio.create_subprocess_exec(
            *CLI, "sync", "Orders", "--workspace", "shop", env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(second.communicate(), 600)
        assert second.returncode == 0, output.decode()
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, "shop", "test")
            runs = (await syncs.search(scope, connector_id=connector.id)).items
        assert [r.status for r in runs] == ["succeeded", "failed"]  # newest first
        assert runs[1].error_kind == "interrupted"
        assert runs[0].state_before is not None  # resumed from a saved bookmark, not from zero
        assert sum(runs[0].rows.values()) < ROWS
    finally:
        await hub.stop()
    destination = destination_for(hub.settings, "shop")
    try:
        ids = [row["id"] for row in await destination.rows("Orders", "public-orders")]
    finally:
        await destination.close()
    assert (tmp_path / "warehouse" / f"shop.{warehouse}").exists()
    assert (len(ids), len(set(ids)), max(ids)) == (ROWS, ROWS, ROWS)
