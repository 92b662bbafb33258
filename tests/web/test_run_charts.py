"""Charts of runs on the pages, on both databases: a card's latest runs, a connector's history,
the workspace's runs per day (the repository's aggregates), each counting only this workspace's
runs; and the live pages' own event streams."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync.models import SyncRun
from connectorhub.sync.repository import SyncRunRepository
from tests.execution.test_endpoints import execute, http_connector, install, play_api
from tests.fixtures.browser_session import hx, sign_in


def captions(html: str) -> list[str]:
    return re.findall(r'data-testid="chart-caption">([^<]*)<', html)


def titles(html: str) -> list[str]:
    return re.findall(r'<title id="chart-[^"]*-title">([^<]*)</title>', html)


async def ran(client, workspace, api) -> dict:
    """An HTTP connector with two succeeded executions and one failed."""
    play_api(api)
    api.json("/v1/users/8", {"error": "gone"}, status=404)
    connector = await install(client, workspace, http_connector(api, name="Charted API"))
    for user in (7, 8, 7):
        done = await execute(
            client, workspace, connector["id"], {"user": user, "password": "pw"}, wait="true"
        )
        assert done.json()["status"] in ("succeeded", "failed"), done.text
    return connector


@pytest.mark.both_backends
async def test_card_history_and_per_day_charts_count_the_runs(
    browser, client, workspace, other_workspace, api
):
    connector = await ran(client, workspace, api)
    await sign_in(browser, workspace.owner)
    counts = "3 runs · 2 succeeded · 1 failed"

    installed = (await browser.get("/connectors/installed")).text
    assert f"Runs of Charted API: {counts}" in titles(installed)
    assert counts in captions(installed)
    alone = await browser.get(f"/connectors/{connector['id']}/chart", headers=hx())
    assert captions(alone.text) == [counts]  # what a card re-drawn alone fetches

    history = (await browser.get(f"/executions?connector_id={connector['id']}")).text
    assert 'class="run-chart run-chart-large' in history
    assert captions(history) == [counts]
    assert history.count('data-bar="failed"') == 1 and history.count('data-bar="succeeded"') == 2

    per_day = (await browser.get("/executions")).text
    assert captions(per_day) == ["3 runs in the last 30 days · 2 succeeded · 1 failed"]
    assert f"{utcnow():%Y-%m-%d}: 3 runs, 2 succeeded, 1 failed" in per_day
    syncs = (await browser.get("/syncs")).text
    assert "Syncs per day: no runs in the last 30 days" in syncs

    # Another workspace's lists count none of these, and its card chart is not there for it.
    await sign_in(browser, other_workspace.owner)
    assert (
        "Executions per day: no runs in the last 30 days" in (await browser.get("/executions")).text
    )
    foreign = await browser.get(f"/connectors/{connector['id']}/chart", headers=hx())
    assert foreign.status_code == 404


@pytest.mark.both_backends
async def test_sync_charts_sum_rows_and_keep_the_latest_runs(browser, client, hub, workspace):
    created = await client.post("/api/connectors", json={
        "catalog_key": "postgres", "name": "Shop", "auth": {"username": "u", "password": "p"},
        "config": {"host": "db.example.com", "port": 5432, "database": "shop"},
    }, headers=workspace.owner.headers)  # fmt: skip
    assert created.status_code == 201, created.text
    connector_id = uuid.UUID(created.json()["id"])
    start = utcnow() - timedelta(days=2)
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        for n in range(25):  # more than a card shows
            failed = n % 5 == 4
            SyncRunRepository(scope).add(SyncRun(
                connector_id=connector_id, created_at=start + timedelta(hours=n),
                status="failed" if failed else "succeeded", duration_ms=1000.0 + n,
                rows={} if failed else {"public-orders": n, "public-items": 1},
            ))  # fmt: skip
    await sign_in(browser, workspace.owner)
    card = await browser.get(f"/connectors/{connector_id}/chart", headers=hx())
    assert captions(card.text) == ["20 runs · 16 succeeded · 4 failed"]  # the newest 20
    newest = f"{start + timedelta(hours=24):%Y-%m-%d %H:%M} UTC · failed · 1,024 ms · 0 rows"
    before = f"{start + timedelta(hours=23):%Y-%m-%d %H:%M} UTC · succeeded · 1,023 ms · 24 rows"
    assert card.text.index(before) < card.text.index(newest)  # oldest first
    history = (await browser.get(f"/syncs?connector_id={connector_id}")).text
    assert captions(history) == ["25 runs · 20 succeeded · 5 failed"]
    assert "tallest: 24 rows" in history
    per_day = (await browser.get("/syncs")).text
    assert captions(per_day) == ["25 runs in the last 30 days · 20 succeeded · 5 failed"]


def sse(text: str) -> list[tuple[str, dict]]:
    kinds = re.findall(r"^event: (.*)$", text, re.M)
    data = [json.loads(d) for d in re.findall(r"^data: (.*)$", text, re.M)]
    return list(zip(kinds, data, strict=True))


@pytest.mark.both_backends
async def test_the_execution_pages_stream_ends_with_the_run(
    browser, client, workspace, other_workspace, api
):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    done = (await execute(
        client, workspace, connector["id"], {"user": 7, "password": "pw"}, wait="true"
    )).json()  # fmt: skip
    await sign_in(browser, workspace.owner)
    stream = await browser.get(f"/executions/{done['id']}/events")
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = sse(stream.text)
    assert [k for k, _ in events] == ["step", "step", "status", "end"]
    assert events[-1] == ("end", {"status": "succeeded"})
    assert "sess-123" not in stream.text  # a step's extracted token is masked as on the page
    page = (await browser.get(f"/executions/{done['id']}")).text
    assert "sse-connect" not in page  # a finished run's page opens no stream
    await sign_in(browser, other_workspace.owner)
    assert (await browser.get(f"/executions/{done['id']}/events")).status_code == 404


@pytest.mark.both_backends
async def test_runs_per_day_are_counted_by_the_utc_day(client, hub, workspace, backend):
    created = await client.post("/api/connectors", json={
        "catalog_key": "postgres", "name": "Late shop", "auth": {"username": "u", "password": "p"},
        "config": {"host": "db.example.com", "port": 5432, "database": "shop"},
    }, headers=workspace.owner.headers)  # fmt: skip
    late = utcnow().replace(hour=23, minute=30, second=0, microsecond=0) - timedelta(days=1)
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        runs = SyncRunRepository(scope)
        runs.add(SyncRun(connector_id=uuid.UUID(created.json()["id"]), created_at=late,
                         status="succeeded"))  # fmt: skip
        await session.flush()
        if backend == "postgresql":  # a session far east of UTC: 23:30 UTC is tomorrow there
            await session.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))
        counted = await runs.per_day(late - timedelta(days=1))
    assert counted == [(f"{late:%Y-%m-%d}", "succeeded", 1)]
