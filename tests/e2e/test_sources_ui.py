"""A PostgreSQL source in Chromium, with the real meltanolabs-tap-postgres reading a real
database: add it from the catalog, Test (streams discovered), pick a stream incrementally, Sync
and watch the run's rows arrive; then a schedule."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import E2E, sign_in
from tests.fixtures.source_database import SOURCE_PASSWORD

pytestmark = [*E2E, pytest.mark.tap]


async def test_add_test_pick_sync_and_schedule_a_source(tab, server, source_db):
    page = tab.page
    name = f"Shop {uuid.uuid4().hex[:6]}"
    await sign_in(tab, server)
    await page.click("[data-testid=add-connector]")
    await page.click("[data-testid=add-pick] [data-key=postgres]")
    await page.wait_for_selector("[data-testid=add-flow]")
    await page.fill("#f-name", name)
    await page.fill("#f-config-host", "127.0.0.1")
    await page.fill("#f-config-database", source_db.name)
    await page.click("[data-testid=add-next-configure]")  # the guided flow, tested from the card
    await page.fill("#f-auth-username", "postgres")
    await page.fill("#f-auth-password", SOURCE_PASSWORD)
    await page.click("[data-testid=add-next-credentials]")
    await page.click("[data-testid=add-next-test]")
    await page.click("[data-testid=add-save]")
    card = page.locator(f"[data-testid=installed-card][data-name='{name}']")
    await card.wait_for()
    assert "Not tested yet" in await card.inner_text()

    # The first test may install the tap into its own virtualenv: give it time.
    await card.locator("[data-testid=test-button]").click()
    await page.wait_for_selector("[data-testid=test-ok]", timeout=240_000)
    # Without a schema filter the tap lists the system catalogs too: narrow the list down.
    await page.fill("#stream-filter", "orders")
    assert await page.locator("[data-testid=stream-row]:visible").count() == 1
    row = page.locator('[data-testid=stream-row][data-stream="public-orders"]')
    await row.locator("input[type=checkbox]").check()
    await row.locator("select").first.select_option("INCREMENTAL")
    await row.locator("select").nth(1).select_option("updated_at")
    await tab.screenshot("source-streams")
    await page.click("[data-testid=save-streams]")
    await page.locator("#modal .modal").wait_for(state="detached")
    await page.wait_for_selector("#toasts >> text=1 stream will sync")
    assert "1 stream picked" in await card.inner_text()

    await card.locator("[data-testid=sync-button]").click()
    await page.wait_for_url("**/syncs/*")
    await page.wait_for_selector('[data-testid=sync-live][data-status="succeeded"]', timeout=60_000)
    rows = page.locator(
        '[data-testid=stream-card][data-stream="public-orders"] [data-testid=stream-rows]'
    )
    assert await rows.inner_text() == "1,000"
    assert "replication_key_value" in await page.locator("[data-testid=state-after]").inner_text()
    await tab.screenshot("sync-live")
    assert SOURCE_PASSWORD not in await page.content()
    assert "tap-postgres" in await page.locator("[data-testid=sync-log]").inner_text()

    await page.click("nav >> text=Syncs")
    assert await page.locator('[data-testid=sync-card][data-status="succeeded"]').count() >= 1

    await page.click("nav >> text=Connectors")
    await page.click("text=Installed")
    await card.locator("[data-testid=schedule-button]").click()
    await page.fill("#schedule-cron", "every day")
    await page.click("[data-testid=save-schedule]")
    await page.wait_for_selector("#schedule-cron.is-invalid")
    await page.fill("#schedule-cron", "30 2 * * *")
    await page.fill("#schedule-timezone", "Europe/Paris")
    await page.click("[data-testid=save-schedule]")
    await page.wait_for_selector("#toasts .alert-success >> text=next at")
    assert "30 2 * * *" in await card.locator("[data-testid=schedule-summary]").inner_text()
