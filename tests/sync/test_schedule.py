"""Cron schedules for source connectors: validation, DST-aware next times, which connectors a
turn starts, and a real scheduled sync (the workers' periodic task on PostgreSQL, the embedded
default's loop on SQLite) with the real meltanolabs-tap-postgres."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from connectorhub.connector.repository import ConnectorRepository
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import service
from connectorhub.sync.schedule import next_after, start_due
from connectorhub.sync.tasks import start_scheduled_syncs
from connectorhub.tenant.models import Role
from tests.sync.test_sync import add_source, discover_and_pick


def test_next_times_follow_the_wall_clock_of_their_time_zone():
    before_dst = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Paris is UTC+1 until 29 March
    after_dst = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # then UTC+2
    assert next_after("0 9 * * *", "Europe/Paris", before_dst) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )
    assert next_after("0 9 * * *", "Europe/Paris", after_dst) == datetime(
        2026, 3, 31, 7, 0, tzinfo=UTC
    )
    assert next_after("0 9 * * *", "UTC", after_dst) == datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert next_after("@hourly", "UTC", after_dst) == datetime(2026, 3, 30, 13, tzinfo=UTC)
    assert next_after("*/15 * * * *", "UTC", after_dst) == datetime(2026, 3, 30, 12, 15, tzinfo=UTC)


async def test_setting_a_schedule(client, workspace, other_workspace, source_db):
    connector = await add_source(client, workspace, source_db)
    url, headers = f"/api/connectors/{connector['id']}/schedule", workspace.owner.headers
    for body, field in [
        ({"cron": "every hour"}, "cron"),
        ({"cron": "0 * * * * *"}, "cron"),  # seconds are not a thing here
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "0 0 31 2 *"}, "cron"),  # valid fields, no such date
        ({"cron": "0 * * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ]:
        refused = await client.put(url, json=body, headers=headers)
        assert refused.status_code == 400 and field in refused.json()["errors"], refused.text

    before = utcnow()
    saved = await client.put(
        url, json={"cron": "30 6 * * 1-5", "timezone": "America/New_York"}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    next_at = datetime.fromisoformat(saved.json()["next_sync_at"])
    assert before < next_at <= before + timedelta(days=4)
    assert next_at.astimezone(next_at.tzinfo).minute == 30
    shown = (await client.get(f"/api/installed/{connector['id']}", headers=headers)).json()
    assert shown["schedule"] == "30 6 * * 1-5" and shown["schedule_timezone"] == "America/New_York"
    assert shown["next_sync_at"] is not None

    member = await workspace.member(Role.member)
    assert (
        await client.put(url, json={"cron": "@daily"}, headers=member.headers)
    ).status_code == 403
    stranger = other_workspace.owner.headers
    assert (await client.put(url, json={"cron": "@daily"}, headers=stranger)).status_code == 404

    removed = await client.put(url, json={"cron": None}, headers=headers)
    assert removed.json() == {"cron": None, "timezone": None, "next_sync_at": None}

    publisher = await client.post(
        "/api/connectors",
        json={"catalog_key": "wordpress", "name": "Not a source",
              "config": {"base_url": "https://x.example", "site_label": "Blog"}},
        headers=headers,
    )  # fmt: skip
    not_source = await client.put(
        f"/api/connectors/{publisher.json()['id']}/schedule", json={"cron": "@daily"},
        headers=headers,
    )  # fmt: skip
    assert not_source.status_code == 400


async def _change(hub, workspace, connector_id: str, **values) -> None:
    """Set connector columns behind the API (a due time in the past, say)."""
    async with hub.sessionmaker() as session, session.begin():
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        connector = await ConnectorRepository(scope).get(uuid.UUID(connector_id))
        for name, value in values.items():
            setattr(connector, name, value)


async def _start_due(hub, workspace, now: datetime) -> int:
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        return await start_due(scope, now)


@pytest.mark.both_backends
async def test_a_turn_starts_only_active_due_connectors_and_skips_busy_ones(
    client, workspace, source_db, hub
):
    headers = workspace.owner.headers
    connector = await add_source(client, workspace, source_db)
    cid = connector["id"]
    await client.put(
        f"/api/connectors/{cid}/schedule", json={"cron": "*/5 * * * *"}, headers=headers
    )
    now = utcnow() + timedelta(minutes=10)

    # Inactive: a schedule does not wake a paused connector.
    assert await _start_due(hub, workspace, now) == 0

    # Active but no streams picked yet: skipped, and the workspace is told why.
    await client.patch(f"/api/connectors/{cid}", json={"status": "active"}, headers=headers)
    assert await _start_due(hub, workspace, now) == 0
    notes = (await client.get("/api/notifications", headers=headers)).json()["items"]
    assert notes[0]["kind"] == "source.schedule_skipped" and "pick the streams" in notes[0]["body"]
    after = (await client.get(f"/api/installed/{cid}", headers=headers)).json()
    assert datetime.fromisoformat(after["next_sync_at"]) > now  # moved on, not retried each turn

    # A sync still queued from before: this turn is skipped quietly and moves on.
    await _change(
        hub, workspace, cid,
        discovered_catalog={"streams": [{"tap_stream_id": "public-orders", "schema": {}}]},
        selected_streams=[{"name": "public-orders", "replication_method": "FULL_TABLE"}],
    )  # fmt: skip
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        busy = await service.start(scope, uuid.UUID(cid), defer=False)
    later = now + timedelta(minutes=10)
    await _change(hub, workspace, cid, next_sync_at=later)
    assert await _start_due(hub, workspace, later) == 0
    assert len((await client.get("/api/notifications", headers=headers)).json()["items"]) == 1
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        await service.cancel(scope, busy.id)

    # Not due yet: nothing.
    assert await _start_due(hub, workspace, utcnow()) == 0


@pytest.fixture
async def scheduled_source(client, workspace, source_db, hub):
    """An active, tested source with a stream picked and a schedule due now."""
    headers = workspace.owner.headers
    connector = await add_source(client, workspace, source_db)
    cid = connector["id"]
    await discover_and_pick(client, workspace, cid)
    await client.patch(f"/api/connectors/{cid}", json={"status": "active"}, headers=headers)
    await client.put(f"/api/connectors/{cid}/schedule", json={"cron": "0 3 * * *"}, headers=headers)
    await _change(hub, workspace, cid, next_sync_at=utcnow() - timedelta(seconds=1))
    yield connector
    # Off the schedule again, so no later test's turn starts it.
    await client.put(f"/api/connectors/{cid}/schedule", json={"cron": None}, headers=headers)


async def _wait_for_scheduled_run(client, workspace, connector_id: str) -> dict:
    url = f"/api/sync-runs?connector_id={connector_id}"
    for _ in range(600):
        runs = (await client.get(url, headers=workspace.owner.headers)).json()["items"]
        if runs and runs[0]["status"] in ("succeeded", "failed", "cancelled"):
            return runs[0]
        await asyncio.sleep(0.1)
    raise AssertionError(runs)


@pytest.mark.tap
@pytest.mark.slow
@pytest.mark.both_backends
async def test_a_due_schedule_syncs_through_the_background_workers(
    client, workspace, hub, scheduled_source
):
    cid = scheduled_source["id"]
    if hub.settings.is_sqlite:
        # The embedded default: `serve` runs this loop (see Hub.start_embedded_worker).
        loop = hub.jobs.start_periodic(every_seconds=0.05)
    else:
        # PostgreSQL: the workers' periodic task (deferred here as Procrastinate would each
        # minute; the tests' worker runs it).
        task = start_scheduled_syncs.__name__
        await hub.jobs.app.configure_task(task).defer_async(timestamp=0)
        loop = None
    try:
        run = await _wait_for_scheduled_run(client, workspace, cid)
    finally:
        if loop:
            loop.cancel()
    assert run["status"] == "succeeded" and run["trigger"] == "schedule", run
    assert run["rows"] == {"public-orders": 1000}
    after = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert datetime.fromisoformat(after["next_sync_at"]) > utcnow()  # 03:00 UTC, next time
    runs = (
        await client.get(f"/api/sync-runs?connector_id={cid}", headers=workspace.owner.headers)
    ).json()
    assert runs["total"] == 1  # one sync per due time, however often the loop looked
