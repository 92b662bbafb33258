"""The loader on hand-made Singer streams, into the real warehouse of each backend, with real
sync runs: ACTIVATE_VERSION first (Meltano SDK taps; the real tap is in test_sync.py) or last
(tap-salesforce and other singer-python taps), and when nothing may be removed."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from connectorhub.connector.repository import ConnectorRepository
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import service
from connectorhub.sync.loader import Loader
from connectorhub.sync.singer import SingerParser
from tests.sync.test_sync import add_source

SCHEMA = {"type": "SCHEMA", "stream": "accounts", "key_properties": ["id"],
          "schema": {"properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}  # fmt: skip


def record(id_: int, version: int | None) -> dict:
    message = {"type": "RECORD", "stream": "accounts", "record": {"id": id_, "name": f"n{id_}"}}
    return message if version is None else {**message, "version": version}


async def _chunks(messages):
    """The tap's output as TapProcess.chunks gives it: here one line per read."""
    for message in messages:
        yield [json.dumps(message).encode()]


async def accounts_source(client, workspace, hub, source_db, method: str) -> uuid.UUID:
    """A source connector with the `accounts` stream discovered and selected."""
    connector = await add_source(client, workspace, source_db)
    cid = uuid.UUID(connector["id"])
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        row = await ConnectorRepository(scope).get(cid)
        row.discovered_catalog = {"streams": [{"tap_stream_id": "accounts", "schema": {}}]}
        row.selected_streams = [{"name": "accounts", "replication_method": method}]
    return cid


async def load(hub, workspace, connector_id: uuid.UUID, messages: list[dict]) -> list[str]:
    """One sync run's worth of messages through the loader, as run_sync drives it."""
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        run = await service.start(scope, connector_id, defer=False)
        await service.claim(scope, hub.box, run.id, claimant="test-loader", take_over=False)
    loader = Loader(
        hub.context.as_claimant("test-loader"), workspace.slug, run.id, connector_id, "Accounts"
    )
    try:
        await loader.consume(_chunks(messages), SingerParser({"accounts"}))
        notes = await loader.remove_older_versions()
    finally:
        await loader.close()
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        await service.finish(scope, run.id, "test-loader", service.SyncStatus.succeeded,
                             rows=loader.rows, log_tail="")  # fmt: skip
    return notes


@pytest.mark.both_backends
async def test_activate_version_first_or_last_removes_what_the_read_did_not_bring(
    client, workspace, hub, source_db
):
    cid = await accounts_source(client, workspace, hub, source_db, "FULL_TABLE")
    destination = Loader(hub.context, workspace.slug, cid, cid, "Accounts").destination

    # tap-salesforce's order: versioned records, then ACTIVATE_VERSION at the end.
    last = [SCHEMA, *(record(n, 100) for n in (1, 2, 3)),
            {"type": "ACTIVATE_VERSION", "stream": "accounts", "version": 100}]  # fmt: skip
    assert await load(hub, workspace, cid, last) == [
        "accounts: removed 0 row(s) deleted at the source"
    ]
    assert await destination.count("Accounts", "accounts") == 3
    again = [SCHEMA, record(1, 200), record(2, 200),
             {"type": "ACTIVATE_VERSION", "stream": "accounts", "version": 200}]  # fmt: skip
    assert await load(hub, workspace, cid, again) == [
        "accounts: removed 1 row(s) deleted at the source"
    ]
    assert await destination.count("Accounts", "accounts") == 2

    # The SDK's order: ACTIVATE_VERSION first, records carrying the version after it.
    first = [SCHEMA, {"type": "ACTIVATE_VERSION", "stream": "accounts", "version": 300},
             record(1, None), record(4, 300)]  # fmt: skip
    assert await load(hub, workspace, cid, first) == [
        "accounts: removed 1 row(s) deleted at the source"  # id 2
    ]
    assert await destination.count("Accounts", "accounts") == 2

    # Rows without a version in this run (a tap that only sometimes versions): nothing removed.
    mixed = [SCHEMA, record(9, None), record(1, 400),
             {"type": "ACTIVATE_VERSION", "stream": "accounts", "version": 400}]  # fmt: skip
    notes = await load(hub, workspace, cid, mixed)
    assert notes == ["accounts: rows without version 400 came; none removed"]
    assert await destination.count("Accounts", "accounts") == 3
    await destination.close()


@pytest.mark.both_backends
async def test_a_state_is_held_with_its_rows_and_saved_when_the_tap_goes_quiet(
    client, workspace, hub, source_db
):
    """States that come close together are saved together, after their rows; a tap that then
    waits (a slow API, say) still has its rows committed and its state saved while it waits."""
    cid = await accounts_source(client, workspace, hub, source_db, "INCREMENTAL")
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        run = await service.start(scope, cid, defer=False)
        await service.claim(scope, hub.box, run.id, claimant="test-loader", take_over=False)
    loader = Loader(hub.context.as_claimant("test-loader"), workspace.slug, run.id, cid, "Accounts")
    resume = asyncio.Event()

    def state(n: int) -> bytes:
        return json.dumps({"type": "STATE", "value": {"bookmark": n}}).encode()

    async def quiet_tap():
        yield [json.dumps(SCHEMA).encode(), json.dumps(record(1, None)).encode(), state(1)]
        yield [json.dumps(record(2, None)).encode(), state(2)]
        await resume.wait()  # the tap waits here until the test has seen the save
        yield [json.dumps(record(3, None)).encode(), state(3)]

    async def saved() -> dict | None:
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, workspace.slug, "test")
            return (await ConnectorRepository(scope).get(cid)).singer_state

    consuming = asyncio.create_task(loader.consume(quiet_tap(), SingerParser({"accounts"})))
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while await saved() != {"bookmark": 2}:
            assert asyncio.get_running_loop().time() < deadline, (
                "the quiet tap's state was not saved"
            )
            assert not consuming.done()
            await asyncio.sleep(0.05)
        # Saved while the tap waits, and only after both rows before it were committed.
        assert await loader.destination.count("Accounts", "accounts") == 2
        resume.set()
        await consuming
    finally:
        resume.set()
        await loader.close()
    assert await saved() == {"bookmark": 3}
    assert await loader.destination.count("Accounts", "accounts") == 3
