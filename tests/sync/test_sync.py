"""Syncs with the real meltanolabs-tap-postgres, from a real PostgreSQL table into the
workspace warehouse (DuckDB file on the embedded default, PostgreSQL on the other backend):
full, then incremental after inserts and updates, then schema growth; failures shown clearly."""

from __future__ import annotations

import asyncio
import json

import pytest

from connectorhub.sync.warehouse import destination_for
from tests.fixtures.source_database import SOURCE_PASSWORD


async def add_source(client, ws, source_db, **config) -> dict:
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": "postgres", "name": f"Shop {source_db.name[-6:]}",
              "config": source_db.config(**config),
              "auth": {"username": "postgres", "password": SOURCE_PASSWORD}},
        headers=ws.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()


async def discover_and_pick(client, ws, connector_id: str, **choice) -> dict:
    """Test the connection (discovery), then pick `public-orders` (FULL_TABLE unless `choice`
    says otherwise). Returns the test's answer."""
    tested = await client.post(f"/api/connectors/{connector_id}/test", headers=ws.owner.headers)
    assert tested.status_code == 200 and tested.json()["ok"], tested.text
    stream = {"name": "public-orders", "replication_method": "FULL_TABLE", **choice}
    picked = await client.put(
        f"/api/connectors/{connector_id}/streams", json={"streams": [stream]},
        headers=ws.owner.headers,
    )  # fmt: skip
    assert picked.status_code == 200, picked.text
    return tested.json()


async def wait_sync_finished(client, ws, run_id: str, seconds: float = 60) -> dict:
    for _ in range(int(seconds * 10)):
        run = (await client.get(f"/api/sync-runs/{run_id}", headers=ws.owner.headers)).json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(run)


async def sync_and_wait(client, ws, connector_id: str) -> dict:
    started = await client.post(f"/api/connectors/{connector_id}/sync", headers=ws.owner.headers)
    assert started.status_code == 202, started.text
    return await wait_sync_finished(client, ws, started.json()["id"])


async def warehouse_rows(hub, ws, connector: dict, stream: str = "public-orders") -> list[dict]:
    """The stream's rows in the workspace's warehouse (PostgreSQL, else the DuckDB file)."""
    destination = destination_for(hub.settings, ws.slug)
    try:
        rows = await destination.rows(connector["name"], stream)
        return sorted(rows, key=lambda row: row["id"])
    finally:
        await destination.close()


@pytest.mark.tap
@pytest.mark.slow
@pytest.mark.both_backends
async def test_full_then_incremental_then_schema_growth(client, workspace, source_db, hub):
    connector = await add_source(client, workspace, source_db)
    headers = workspace.owner.headers
    tested = await client.post(f"/api/connectors/{connector['id']}/test", headers=headers)
    assert tested.status_code == 200 and tested.json()["ok"], tested.text
    stream = next(s for s in tested.json()["streams"] if s["name"] == "public-orders")
    assert stream["key_properties"] == ["id"] and "updated_at" in stream["columns"]
    assert (
        await client.post(f"/api/connectors/{connector['id']}/sync", headers=headers)
    ).status_code == 409
    picked = await client.put(
        f"/api/connectors/{connector['id']}/streams",
        json={"streams": [{"name": "public-orders", "replication_method": "INCREMENTAL",
                           "replication_key": "updated_at"}]},
        headers=headers,
    )  # fmt: skip
    assert picked.status_code == 200, picked.text

    full = await sync_and_wait(client, workspace, connector["id"])
    assert full["status"] == "succeeded", full
    assert full["rows"] == {"public-orders": 1000} and full["state_before"] is None
    bookmark = full["state_after"]["bookmarks"]["public-orders"]
    assert bookmark["replication_key"] == "updated_at"
    rows = await warehouse_rows(hub, workspace, connector)
    assert len(rows) == 1000 and rows[0]["customer"] == "c1" and float(rows[0]["amount"]) == 1.5
    meta = rows[0]["meta"]
    assert (json.loads(meta) if isinstance(meta, str) else meta) == {"n": 1}
    assert SOURCE_PASSWORD not in json.dumps(full)

    # Inserts and updates: the next sync starts from the saved bookmark.
    source_db.execute(
        "INSERT INTO orders (customer, amount, updated_at) "
        "SELECT 'new' || g, 1, now() + interval '1 hour' FROM generate_series(1, 10) g"
    )
    source_db.execute(
        "UPDATE orders SET customer = 'changed', updated_at = now() + interval '2 hours' WHERE id <= 5"
    )
    incremental = await sync_and_wait(client, workspace, connector["id"])
    assert incremental["status"] == "succeeded", incremental
    assert incremental["state_before"] == full["state_after"]
    assert 15 <= incremental["rows"]["public-orders"] <= 16  # the bookmark row may come again
    rows = await warehouse_rows(hub, workspace, connector)
    assert len(rows) == 1010 and len({r["id"] for r in rows}) == 1010  # upserted, no duplicates
    assert [r["customer"] for r in rows[:5]] == ["changed"] * 5
    assert rows[-1]["customer"] == "new10"

    # The source grows a column: rediscover, and the warehouse table grows with it.
    source_db.execute("ALTER TABLE orders ADD COLUMN channel text DEFAULT 'web'")
    source_db.execute("UPDATE orders SET updated_at = now() + interval '3 hours' WHERE id = 7")
    retested = await client.post(f"/api/connectors/{connector['id']}/test", headers=headers)
    assert (
        "channel"
        in next(s for s in retested.json()["streams"] if s["name"] == "public-orders")["columns"]
    )
    grown = await sync_and_wait(client, workspace, connector["id"])
    assert grown["status"] == "succeeded", grown
    row7 = next(r for r in await warehouse_rows(hub, workspace, connector) if r["id"] == 7)
    assert row7["channel"] == "web"

    runs = (
        await client.get(f"/api/sync-runs?connector_id={connector['id']}", headers=headers)
    ).json()
    assert runs["total"] == 3


@pytest.mark.tap
async def test_a_bad_config_fails_cleanly_with_the_taps_error(client, workspace, source_db):
    connector = await add_source(client, workspace, source_db, database="no_such_database_x")
    headers = workspace.owner.headers
    tested = (await client.post(f"/api/connectors/{connector['id']}/test", headers=headers)).json()
    assert tested["ok"] is False and tested["error_kind"] == "config", tested
    assert "no_such_database_x" in tested["stderr_tail"]
    assert SOURCE_PASSWORD not in json.dumps(tested)
    after = (await client.get(f"/api/installed/{connector['id']}", headers=headers)).json()
    assert after["status"] == "error" and "connection test failed" in after["status_reason"]
    notes = (await client.get("/api/notifications", headers=headers)).json()
    assert notes["items"][0]["kind"] == "source.config_failed"


@pytest.mark.both_backends
async def test_only_sources_sync_and_other_workspaces_see_nothing(
    client, workspace, other_workspace, source_db
):
    connector = await add_source(client, workspace, source_db)
    stranger = other_workspace.owner.headers
    assert (
        await client.post(f"/api/connectors/{connector['id']}/test", headers=stranger)
    ).status_code == 404
    assert (
        await client.post(f"/api/connectors/{connector['id']}/sync", headers=stranger)
    ).status_code == 404
    http = await client.post(
        "/api/connectors",
        json={
            "catalog_key": "http",
            "name": "Not a source",
            "config": {"base_url": "https://x.example"},
        },
        headers=workspace.owner.headers,
    )
    refused = await client.post(
        f"/api/connectors/{http.json()['id']}/test", headers=workspace.owner.headers
    )
    assert refused.status_code == 400


@pytest.mark.tap
@pytest.mark.slow
@pytest.mark.both_backends
async def test_full_table_reads_with_versions_remove_rows_deleted_at_the_source(
    client, workspace, source_db, hub
):
    connector = await add_source(client, workspace, source_db, emit_activate_version_messages=True)
    await discover_and_pick(client, workspace, connector["id"])
    first = await sync_and_wait(client, workspace, connector["id"])
    assert first["status"] == "succeeded" and first["rows"] == {"public-orders": 1000}, first
    source_db.execute("DELETE FROM orders WHERE id > 990")
    # The Meltano SDK's table version is the second its tap started: a second run within the
    # same second would carry the first one's version and have nothing to remove.
    await asyncio.sleep(1.0)
    second = await sync_and_wait(client, workspace, connector["id"])
    assert second["status"] == "succeeded", second
    assert "public-orders: removed 10 row(s) deleted at the source" in second["log_tail"]
    rows = await warehouse_rows(hub, workspace, connector)
    assert len(rows) == 990 and rows[-1]["id"] == 990
    assert len({r["_sdc_table_version"] for r in rows}) == 1  # all from the latest full read
