"""Source pages on both databases, with the real meltanolabs-tap-postgres: Test shows the streams
and the picker, Streams saves a choice, Schedule validates inline, Sync opens a live run page
whose rows fill in; a failed test shows the tap's own error. Browser flow in tests/e2e."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from connectorhub.kit.plugins import PluginManager
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import service
from connectorhub.tenant.models import Role
from tests.fixtures.browser_session import hx, sign_in
from tests.fixtures.source_database import SOURCE_PASSWORD
from tests.sync.test_sync import add_source


async def test_syncs_page_needs_a_session_and_starts_empty(browser, workspace):
    assert (await browser.get("/syncs")).status_code in (303, 401)
    await sign_in(browser, workspace.owner)
    page = await browser.get("/syncs")
    assert page.status_code == 200 and "No syncs yet" in page.text
    partial = await browser.get("/syncs", headers=hx(target="main"))
    assert "<html" not in partial.text and "No syncs yet" in partial.text


@pytest.mark.tap
async def test_test_pick_schedule_sync_and_watch(browser, client, workspace, source_db, hub):
    connector = await add_source(client, workspace, source_db)
    cid = connector["id"]
    csrf = await sign_in(browser, workspace.owner)
    card = (await browser.get("/connectors/installed")).text
    assert "Not tested yet" in card and 'data-testid="test-button"' in card
    assert 'data-testid="sync-button"' not in card  # nothing picked yet

    tested = await browser.post(f"/connectors/{cid}/test", headers=hx(csrf, "modal"))
    assert tested.status_code == 200 and 'data-testid="test-ok"' in tested.text, tested.text
    assert (
        'data-stream="public-orders"' in tested.text
        and 'data-testid="stream-picker"' in tested.text
    )
    assert (
        'hx-swap-oob="true"' in tested.text
        and 'Last test: <span class="text-success">ok' in tested.text
    )

    # Incremental without a key: refused inline, nothing saved.
    refused = await browser.post(
        f"/connectors/{cid}/streams",
        data={"stream": "public-orders", "method:public-orders": "INCREMENTAL"},
        headers=hx(csrf, "modal"),
    )
    assert 'data-testid="picker-error"' in refused.text and "Pick one of" in refused.text
    picked = await browser.post(
        f"/connectors/{cid}/streams",
        data={"stream": "public-orders", "method:public-orders": "INCREMENTAL",
              "key:public-orders": "updated_at"},
        headers=hx(csrf, "modal"),
    )  # fmt: skip
    assert "1 stream picked" in picked.text and 'data-testid="sync-button"' in picked.text
    reopened = await browser.get(f"/connectors/{cid}/streams", headers=hx(target="modal"))
    assert 'value="public-orders" checked' in reopened.text
    assert '<option value="updated_at" selected>' in reopened.text

    bad = await browser.post(
        f"/connectors/{cid}/schedule", data={"cron": "often", "timezone": "UTC"},
        headers=hx(csrf, "modal"),
    )  # fmt: skip
    assert "is-invalid" in bad.text and "five fields" in bad.text
    scheduled = await browser.post(
        f"/connectors/{cid}/schedule", data={"cron": "0 4 * * *", "timezone": "Europe/Paris"},
        headers=hx(csrf, "modal"),
    )  # fmt: skip
    assert "<code>0 4 * * *</code> Europe/Paris (paused while inactive)" in scheduled.text
    assert "next at" in scheduled.headers["HX-Trigger"]

    started = await browser.post(f"/connectors/{cid}/sync", headers=hx(csrf))
    assert "/syncs/" in started.headers["HX-Location"], started.headers
    path = started.headers["HX-Location"].split('"path": "')[1].split('"')[0]
    for _ in range(600):
        live = await browser.get(path, headers=hx(target="sync-live"))
        if 'data-status="succeeded"' in live.text or 'data-status="failed"' in live.text:
            break
        await asyncio.sleep(0.1)
    assert 'data-status="succeeded"' in live.text, live.text
    assert "hx-trigger" not in live.text  # polling stops once finished
    assert ">1,000</div>" in live.text and "replication_key_value" in live.text
    assert SOURCE_PASSWORD not in live.text
    full = await browser.get(path)
    assert "<html" in full.text and "sync-live" in full.text
    history = await browser.get(f"/syncs?connector_id={cid}")
    assert history.text.count('data-testid="sync-card"') == 1 and "1,000 rows" in history.text
    assert (await browser.get("/syncs?status=failed")).text.count('data-testid="sync-card"') == 0

    # One already queued: the button answers with a toast and leaves the card as it is.
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        queued = await service.start(scope, uuid.UUID(cid), defer=False)
    again = await browser.post(f"/connectors/{cid}/sync", headers=hx(csrf))
    assert again.status_code == 204 and "already queued or running" in again.headers["HX-Trigger"]
    cancelled = await browser.post(f"/syncs/{queued.id}/cancel", headers=hx(csrf, "sync-live"))
    assert 'data-status="cancelled"' in cancelled.text


@pytest.mark.tap
async def test_a_failed_test_shows_the_taps_error(browser, client, workspace, source_db):
    connector = await add_source(client, workspace, source_db, database="no_such_database_y")
    csrf = await sign_in(browser, workspace.owner)
    tested = await browser.post(f"/connectors/{connector['id']}/test", headers=hx(csrf, "modal"))
    assert 'data-testid="test-error"' in tested.text and "The settings are wrong" in tested.text
    assert "no_such_database_y" in tested.text and SOURCE_PASSWORD not in tested.text
    assert 'data-status="error"' in tested.text  # the card turns red alongside
    picker = await browser.get(f"/connectors/{connector['id']}/streams", headers=hx(target="modal"))
    assert "Test the connection first" in picker.text


async def test_roles_and_workspaces(browser, client, workspace, other_workspace, source_db):
    connector = await add_source(client, workspace, source_db)
    cid = connector["id"]
    viewer = await workspace.member(Role.viewer)
    csrf = await sign_in(browser, viewer)
    card = (await browser.get("/connectors/installed")).text
    assert 'data-testid="test-button"' not in card and 'data-testid="streams-button"' not in card
    for path in [
        f"/connectors/{cid}/test",
        f"/connectors/{cid}/sync",
        f"/connectors/{cid}/schedule",
    ]:
        assert (await browser.post(path, headers=hx(csrf))).status_code == 403, path
    member = await workspace.member(Role.member)
    csrf = await sign_in(browser, member)
    for path in [f"/connectors/{cid}/streams", f"/connectors/{cid}/schedule"]:
        assert (await browser.post(path, headers=hx(csrf))).status_code == 403, path
        assert (await browser.get(path, headers=hx(target="modal"))).status_code == 403, path
    stranger = await sign_in(browser, other_workspace.owner)
    for path in [f"/connectors/{cid}/test", f"/connectors/{cid}/sync",
                 f"/connectors/{cid}/schedule", f"/syncs/{uuid.uuid4()}/cancel"]:  # fmt: skip
        assert (await browser.post(path, headers=hx(stranger))).status_code == 404, path
    assert (
        await browser.get(f"/connectors/{cid}/streams", headers=hx(target="modal"))
    ).status_code == 404


@pytest.mark.tap
@pytest.mark.slow
async def test_a_first_test_installs_the_tap_in_the_background_showing_pips_output(
    browser, client, workspace, source_db, hub, tmp_path, monkeypatch
):
    """A hub whose plugin directory is empty: Test answers at once with the install's progress;
    its event stream tells each line pip prints, then the end; polling shows pip's lines; once
    the tap is there, the test runs."""
    monkeypatch.setattr(hub, "plugins", PluginManager(tmp_path / "plugins"))
    connector = await add_source(client, workspace, source_db)
    csrf = await sign_in(browser, workspace.owner)
    started = await browser.post(f"/connectors/{connector['id']}/test", headers=hx(csrf, "modal"))
    assert (
        'data-testid="install-progress"' in started.text
        and "Installing meltanolabs-tap-postgres" in started.text
    )
    # The modal follows the install's event stream, polling only while it is down.
    assert f'sse-connect="/connectors/{connector["id"]}/install/events"' in started.text
    assert 'hx-trigger="sse:progress, sse:end, every 1s [!liveStreamOpen(this)]"' in started.text
    stream = await browser.get(f"/connectors/{connector['id']}/install/events")
    assert stream.headers["content-type"].startswith("text/event-stream")
    kinds = re.findall(r"^event: (.*)$", stream.text, re.M)
    assert kinds[-1] == "end" and "progress" in kinds  # pip's lines came as they were printed
    assert stream.text.rstrip().endswith('data: {"error": false}')
    for _ in range(3000):
        polled = await browser.get(
            f"/connectors/{connector['id']}/install", headers=hx(target="install-progress")
        )
        if "is installed" in polled.text or "install-error" in polled.text:
            break
        await asyncio.sleep(0.1)
    assert "is installed. Testing the connection" in polled.text, polled.text
    assert 'hx-trigger="load"' in polled.text and "Successfully installed" in polled.text
    tested = await browser.post(f"/connectors/{connector['id']}/test", headers=hx(csrf, "modal"))
    assert 'data-testid="test-ok"' in tested.text


@pytest.mark.slow
async def test_a_failed_install_shows_pips_own_error(tmp_path):
    plugins = PluginManager(tmp_path)
    missing = {"name": "tap-nowhere", "pip_url": "connectorhub-no-such-package-zz9",
               "executable": "tap-nowhere"}  # fmt: skip
    tasks = []
    progress = plugins.install_in_background(
        missing, lambda work: tasks.append(asyncio.create_task(work))
    )
    assert plugins.install_in_background(missing, tasks.append) is progress  # joined, not doubled
    await asyncio.wait_for(tasks[0], 300)
    assert progress.done and "No matching distribution" in (progress.error or ""), progress


async def test_a_get_never_starts_an_install(
    browser, client, workspace, source_db, hub, tmp_path, monkeypatch
):
    """Starting pip is a state change: only the Test button's POST (with its CSRF token) does it;
    a link (a GET from another site, say) only shows where things stand."""
    plugins = PluginManager(tmp_path / "plugins")
    monkeypatch.setattr(hub, "plugins", plugins)
    connector = await add_source(client, workspace, source_db)
    await sign_in(browser, workspace.owner)
    shown = await browser.get(
        f"/connectors/{connector['id']}/install", headers=hx(target="install-progress")
    )
    assert shown.status_code == 200 and 'data-testid="install-not-started"' in shown.text
    assert "Install and test" in shown.text and 'hx-trigger="every 1s"' not in shown.text
    assert plugins.installs == {} and not (tmp_path / "plugins").exists()
