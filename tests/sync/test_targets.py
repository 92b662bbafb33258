"""Singer targets as destinations, with the real target-jsonl and meltanolabs-target-postgres
(installed once per machine into the tests' plugins directory, like the taps): the workspace's
destination picked through the API, a source's own pick, full and incremental syncs, and a
`connectorhub sync` SIGKILLed mid-stream then resumed (the state saved is only ever one the
target reported, so nothing is lost, and the upserting target doubles nothing)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import uuid

import psycopg
import pytest

from connectorhub.catalog.loader import load_entries
from connectorhub.config import Settings
from connectorhub.connector import service as connectors
from connectorhub.connector.schemas import ConnectorCreate
from connectorhub.hub import Hub
from connectorhub.kit.plugins import PluginManager
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import destinations
from connectorhub.sync import service as syncs
from connectorhub.sync.schemas import StreamSelection
from connectorhub.sync.tasks import run_connection_test
from tests.conftest import TEST_KEYS, TEST_PLUGINS_DIR
from tests.fixtures import fake_tap
from tests.fixtures.live_server import CLI, hub_env
from tests.sync.test_sync import add_source, discover_and_pick, sync_and_wait, warehouse_rows

pytestmark = [pytest.mark.tap, pytest.mark.slow]
PLUGINS = {e.key: e.data["plugin"] for e in load_entries() if e.data["kind"] == "target"}


@pytest.fixture(scope="session")
async def targets_installed() -> None:
    """Both targets in the tests' plugins directory (kept across runs, by pin)."""
    manager = PluginManager(TEST_PLUGINS_DIR)
    for plugin in PLUGINS.values():
        await manager.install(plugin)


async def add_target(client, ws, key: str, name: str, config: dict, auth: dict | None = None):
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": key, "name": name, "config": config, "auth": auth or {}},
        headers=ws.owner.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()


def postgres_target_config(source_db, schema: str) -> dict:
    return {"host": "127.0.0.1", "port": 5432, "database": source_db.name,
            "default_target_schema": schema}  # fmt: skip


def target_rows(source_db, schema: str) -> list[tuple]:
    with psycopg.connect(source_db.conninfo) as connection:
        return connection.execute(
            f'SELECT id, customer FROM "{schema}".orders ORDER BY id'
        ).fetchall()


async def test_target_jsonl_as_the_workspace_destination_full_then_incremental(
    client, workspace, source_db, tmp_path, targets_installed
):
    headers = workspace.owner.headers
    source = await add_source(client, workspace, source_db)
    await discover_and_pick(
        client, workspace, source["id"], replication_method="INCREMENTAL",
        replication_key="updated_at",
    )  # fmt: skip
    out = tmp_path / "out"
    target = await add_target(
        client, workspace, "target-jsonl", "Files",
        {"destination_path": str(out), "do_timestamp_file": False},
    )  # fmt: skip
    assert (await client.get("/api/destination", headers=headers)).json()["effective_name"] == (
        "warehouse"
    )
    picked = await client.put(
        "/api/destination", json={"destination_id": target["id"]}, headers=headers
    )
    assert picked.status_code == 200, picked.text
    assert picked.json() == {"destination": "target", "destination_id": target["id"],
                             "effective_id": target["id"], "effective_name": "Files"}  # fmt: skip
    shown = (
        await client.get(f"/api/connectors/{source['id']}/destination", headers=headers)
    ).json()
    assert shown == {
        "destination": "workspace",
        "destination_id": None,
        "effective_id": target["id"],
        "effective_name": "Files",
    }

    full = await sync_and_wait(client, workspace, source["id"])
    assert full["status"] == "succeeded", full
    assert full["rows"] == {"public-orders": 1000}
    # target-jsonl reports the last state it was sent once every row is written: that is saved.
    assert full["state_after"]["bookmarks"]["public-orders"]["replication_key"] == "updated_at"
    lines = (out / "public-orders.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == list(range(1, 1001))

    source_db.execute(
        "INSERT INTO orders (customer, amount, updated_at) "
        "SELECT 'new' || g, 1, now() + interval '1 hour' FROM generate_series(1, 10) g"
    )
    incremental = await sync_and_wait(client, workspace, source["id"])
    assert incremental["status"] == "succeeded", incremental
    assert incremental["state_before"] == full["state_after"]
    assert 10 <= incremental["rows"]["public-orders"] <= 11  # the bookmark row may come again
    ids = {
        json.loads(line)["id"] for line in (out / "public-orders.jsonl").read_text().splitlines()
    }
    assert ids == set(range(1, 1011))


async def test_a_source_picks_target_postgres_over_the_workspace_default(
    client, workspace, source_db, targets_installed
):
    headers = workspace.owner.headers
    source = await add_source(client, workspace, source_db)
    await discover_and_pick(
        client, workspace, source["id"], replication_method="INCREMENTAL",
        replication_key="updated_at",
    )  # fmt: skip
    target = await add_target(
        client, workspace, "target-postgres", "Loaded", postgres_target_config(source_db, "loaded"),
        {"username": "postgres", "password": "unused-on-trust"},
    )  # fmt: skip
    # Not a target: refused. Another workspace's target: not found.
    refused = await client.put(
        f"/api/connectors/{source['id']}/destination", json={"destination_id": source["id"]},
        headers=headers,
    )  # fmt: skip
    assert refused.status_code == 400, refused.text
    unknown = await client.put(
        f"/api/connectors/{source['id']}/destination", json={"destination_id": str(uuid.uuid4())},
        headers=headers,
    )  # fmt: skip
    assert unknown.status_code == 404
    picked = await client.put(
        f"/api/connectors/{source['id']}/destination", json={"destination_id": target["id"]},
        headers=headers,
    )  # fmt: skip
    assert picked.json()["effective_name"] == "Loaded", picked.text
    read = (await client.get(f"/api/installed/{source['id']}", headers=headers)).json()
    assert read["destination_id"] == target["id"]

    full = await sync_and_wait(client, workspace, source["id"])
    assert full["status"] == "succeeded", full
    assert full["rows"] == {"public-orders": 1000} and full["state_after"]
    assert len(target_rows(source_db, "loaded")) == 1000

    source_db.execute(
        "UPDATE orders SET customer = 'changed', updated_at = now() + interval '2 hours' WHERE id <= 5"
    )
    incremental = await sync_and_wait(client, workspace, source["id"])
    assert incremental["status"] == "succeeded", incremental
    rows = target_rows(source_db, "loaded")
    assert len(rows) == 1000 and len({r[0] for r in rows}) == 1000  # upserted on the key
    assert [r[1] for r in rows[:5]] == ["changed"] * 5

    # Back to the workspace's (built-in) destination.
    cleared = await client.put(
        f"/api/connectors/{source['id']}/destination", json={"destination_id": None},
        headers=headers,
    )  # fmt: skip
    assert cleared.json()["effective_name"] == "warehouse"


async def test_a_source_picks_the_built_in_warehouse_over_the_workspaces_target(
    client, workspace, source_db, tmp_path, hub
):
    """No target runs (so none needs installing): the rows land in the built-in warehouse."""
    headers = workspace.owner.headers
    source = await add_source(client, workspace, source_db)
    await discover_and_pick(client, workspace, source["id"])
    out = tmp_path / "out"
    target = await add_target(client, workspace, "target-jsonl", "Files",
                              {"destination_path": str(out)})  # fmt: skip
    await client.put("/api/destination", json={"destination_id": target["id"]}, headers=headers)
    picked = await client.put(
        f"/api/connectors/{source['id']}/destination", json={"destination": "warehouse"},
        headers=headers,
    )  # fmt: skip
    assert picked.json()["effective_id"] is None, picked.text

    full = await sync_and_wait(client, workspace, source["id"])
    assert full["status"] == "succeeded", full
    assert full["rows"] == {"public-orders": 1000}
    assert len(await warehouse_rows(hub, workspace, source)) == 1000
    assert not out.exists()  # the workspace's target was never run
    await client.put("/api/destination", json={"destination_id": None}, headers=headers)


async def test_a_failing_target_fails_the_sync_with_its_error_and_saves_no_state(
    client, workspace, source_db, targets_installed
):
    source = await add_source(client, workspace, source_db)
    await discover_and_pick(client, workspace, source["id"])
    target = await add_target(
        client, workspace, "target-postgres", "Nowhere",
        {**postgres_target_config(source_db, "x"), "database": "no_such_database_t"},
        {"username": "postgres", "password": "target-secret-never-shown"},
    )  # fmt: skip
    await client.put(
        f"/api/connectors/{source['id']}/destination", json={"destination_id": target["id"]},
        headers=workspace.owner.headers,
    )  # fmt: skip
    failed = await sync_and_wait(client, workspace, source["id"])
    assert failed["status"] == "failed" and failed["error_kind"] == "destination", failed
    assert "no_such_database_t" in failed["log_tail"]
    assert "target-secret-never-shown" not in json.dumps(failed)
    assert failed["state_after"] is None


ROWS = 20_000


async def test_a_killed_sync_into_target_postgres_resumes_without_loss_or_duplicates(
    tmp_path, fake_tap_catalog, source_db, targets_installed
):
    env = hub_env(
        tmp_path, CONNECTORHUB_SECRET_KEYS=TEST_KEYS, CONNECTORHUB_PLUGINS_DIR=str(TEST_PLUGINS_DIR),
        CONNECTORHUB_CATALOG_EXTRA_DIR=str(fake_tap_catalog),
    )  # fmt: skip
    for command in (["db", "upgrade"], ["workspaces", "create", "shop"]):
        done = await asyncio.create_subprocess_exec(*CLI, *command, env=env)
        assert await done.wait() == 0
    hub = Hub(
        Settings(
            data_dir=tmp_path, secret_keys=TEST_KEYS, plugins_dir=TEST_PLUGINS_DIR,
            catalog_extra_dir=fake_tap_catalog,
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
            target = await connectors.install(
                scope, hub.box,
                ConnectorCreate(catalog_key="target-postgres", name="Loaded",
                                config={**postgres_target_config(source_db, "killed"),
                                        "batch_size_rows": 1000},
                                auth={"username": "postgres", "password": "x"}),
            )  # fmt: skip
            await destinations.set_workspace_default(scope, target.id)
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
        written = 0
        for _ in range(2400):  # until the target has written some (not all) rows
            try:
                written = len(target_rows(source_db, "killed"))
            except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
                written = 0  # the target has not created them yet
            if written:
                break
            assert first.returncode is None, (await first.stdout.read()).decode()
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert 0 < written < ROWS
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, "shop", "test")
            killed = (await syncs.search(scope, connector_id=connector.id)).items[0]
        # target-postgres reports a state only once it has written everything: none was saved.
        assert killed.state_after is None

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
        assert runs[0].state_after["bookmarks"]["public-orders"]["replication_key_value"] == ROWS
    finally:
        await hub.stop()
    ids = [row[0] for row in target_rows(source_db, "killed")]
    assert (len(ids), len(set(ids)), max(ids)) == (ROWS, ROWS, ROWS)
