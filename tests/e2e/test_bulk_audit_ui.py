"""Bulk actions on the Installed tab and the audit log, in a real browser: select → act → a
result per connector; viewers see no selection; the audit page's filters and the Configure
modal's History link. Screenshots land in test-artifacts/ (and /tmp/shots-bulk when set)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.e2e.conftest import E2E, add_user, open_page, sign_in

pytestmark = E2E

SECRET = "wp-bulk-password-SECRET-77"
SHOTS = os.environ.get("CONNECTORHUB_SHOTS_DIR")


def wordpress(name: str, *, credentials: bool = True) -> dict:
    return {
        "catalog_key": "wordpress", "name": name,
        "config": {"base_url": "https://blog.example.com", "site_label": "Blog"},
        "auth": {"username": "editor", "password": SECRET} if credentials else {},
    }  # fmt: skip


async def install(server, body: dict) -> dict:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        created = await http.post("/api/connectors", json=body)
        assert created.status_code == 201, created.text
        return created.json()


async def shot(tab, name: str) -> None:
    await tab.screenshot(name)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await tab.page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
        await tab.page.screenshot(path=f"{SHOTS}/{name}-viewport.png")


async def show_only(page, prefix: str, count: int) -> None:
    """The Installed tab searched for `prefix` (loaded so, never racing a search as typed)."""
    base = page.url.split("/connectors")[0]
    await page.goto(f"{base}/connectors/installed?search={quote(prefix)}")
    assert await page.locator("[data-testid=installed-card]").count() == count


def card(page, name: str):
    return page.locator(f"[data-testid=installed-card][data-name='{name}']")


async def apply(page, action: str) -> None:
    await page.select_option("#bulk-action", action)
    await page.click("[data-bulk-apply]")
    await page.wait_for_selector("[data-testid=bulk-results]")


async def test_select_act_and_read_a_result_per_connector(tab, server):
    prefix = f"Bulk {uuid.uuid4().hex[:6]}"
    names = [f"{prefix} one", f"{prefix} two", f"{prefix} bare"]
    await install(server, wordpress(names[0]))
    await install(server, wordpress(names[1]))
    await install(server, wordpress(names[2], credentials=False))
    await sign_in(tab, server)
    page = tab.page
    await show_only(page, prefix, 3)
    count = page.locator("[data-selected-count]")
    assert await count.inner_text() == "0 selected"
    assert await page.locator("[data-bulk-apply]").is_disabled()

    await page.check("[data-testid=select-all]")
    assert await count.inner_text() == "3 selected"
    await apply(page, "activate")
    results = page.locator("[data-testid=bulk-results]")
    assert "2 of 3 connectors activated; 1 refused" in await results.inner_text()
    refused = page.locator("[data-testid=bulk-result][data-ok=no]")
    assert await refused.count() == 1
    text = await refused.inner_text()
    assert names[2] in text and "cannot be activated yet" in text and "auth.password" in text
    # The cards come back from the server with their new status; the selection is cleared.
    await page.wait_for_selector(
        f"[data-testid=installed-card][data-name='{names[0]}'][data-status=active]"
    )
    assert await card(page, names[1]).get_attribute("data-status") == "active"
    assert await card(page, names[2]).get_attribute("data-status") == "inactive"
    assert await count.inner_text() == "0 selected"
    await shot(tab, "bulk-activate-results-1280")

    # A tag for two of them: the tag field shows only for a tag action.
    assert await page.locator("#bulk-tag").is_hidden()
    await card(page, names[0]).locator("[data-testid=bulk-select]").check()
    await card(page, names[1]).locator("[data-testid=bulk-select]").check()
    await page.select_option("#bulk-action", "add_tag")
    await page.fill("#bulk-tag", "q4-launch")
    await page.click("[data-bulk-apply]")
    await page.wait_for_function(
        "document.querySelector('[data-testid=bulk-summary]').textContent.includes('tagged')"
    )
    assert "2 of 2 connectors tagged (q4-launch)" in await results.inner_text()
    await page.wait_for_selector(
        f"[data-testid=installed-card][data-name='{names[1]}'] >> text=q4-launch"
    )
    assert "q4-launch" not in await card(page, names[2]).inner_text()

    # Delete all three, one of which another admin deletes first: one confirmation for the set.
    await page.check("[data-testid=select-all]")
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        gone = (await http.get("/api/installed", params={"search": names[2]})).json()["items"]
        assert (await http.delete(f"/api/connectors/{gone[0]['id']}")).status_code == 204
    await apply(page, "delete")
    confirm = page.locator("[data-testid=bulk-confirm]")
    assert "Delete 3 connectors?" in await confirm.inner_text()
    for name in names:
        assert name in await confirm.inner_text()
    assert await page.locator("[data-testid=installed-card]").count() == 3  # nothing yet
    await shot(tab, "bulk-delete-confirm-1280")
    await confirm.locator("button[type=submit]").click()
    await page.wait_for_function(
        "document.querySelector('[data-testid=bulk-summary]')?.textContent.includes('deleted')"
    )
    assert "2 of 3 connectors deleted; 1 refused" in await results.inner_text()
    missing = await page.locator("[data-testid=bulk-result][data-ok=no]").inner_text()
    assert names[2] in missing and "not found: another admin may have deleted it" in missing
    await page.wait_for_selector("[data-testid=empty-installed]")
    await shot(tab, "bulk-delete-results-1280")
    assert SECRET not in await page.content()


async def test_bulk_bar_on_a_390px_phone(browser, server):
    prefix = f"Phone {uuid.uuid4().hex[:6]}"
    for index in range(2):
        await install(server, wordpress(f"{prefix} {index}", credentials=index == 0))
    phone = await open_page(browser, width=390, height=844)
    await sign_in(phone, server)
    page = phone.page
    await show_only(page, prefix, 2)
    await page.check("[data-testid=select-all]")
    await page.select_option("#bulk-action", "add_tag")
    await page.fill("#bulk-tag", "mobile")
    await shot(phone, "bulk-bar-390")
    await page.select_option("#bulk-action", "activate")
    await apply(page, "activate")
    assert (
        "1 of 2 connectors activated; 1 refused"
        in await page.locator("[data-testid=bulk-results]").inner_text()
    )
    overflow = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    await shot(phone, "bulk-results-390")
    assert phone.problems == []
    await page.context.close()


async def test_viewers_get_no_selection_controls(tab, server):
    name = f"Watched {uuid.uuid4().hex[:6]}"
    await install(server, wordpress(name))
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    password = add_user(server, email, "viewer")
    await sign_in(tab, server, email, password)
    page = tab.page
    await show_only(page, name, 1)
    assert await page.locator("[data-testid=bulk-bar]").count() == 0
    assert await page.locator("[data-testid=bulk-select]").count() == 0
    await page.click("[data-testid=settings-menu]")
    assert await page.locator("#navbar-settings >> text=Audit log").count() == 0


async def test_audit_page_filters_and_the_configure_history_link(tab, server):
    name = f"Audited {uuid.uuid4().hex[:6]}"
    made = await install(server, wordpress(name))
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        edited = await http.patch(
            f"/api/connectors/{made['id']}",
            json={"config": {**made["config"], "site_label": "Renamed blog"},
                  "auth": {"password": "rotated-" + SECRET}},
        )  # fmt: skip
        assert edited.status_code == 200, edited.text
    await sign_in(tab, server)
    page = tab.page
    await show_only(page, name, 1)
    await card(page, name).locator(f"[aria-label='Configure {name}']").click()
    await page.click("[data-testid=history-link]")
    await page.wait_for_url(f"**/settings/audit?object={made['id']}")
    events = page.locator("[data-testid=audit-event]")
    assert await events.count() == 2
    assert [await events.nth(i).get_attribute("data-action") for i in range(2)] == [
        "connector.updated", "connector.created",
    ]  # fmt: skip
    first = await events.nth(0).inner_text()
    assert name in first and server.email in first
    assert "auth.password" in first and "config.site_label" in first
    content = await page.content()
    assert SECRET not in content and "Renamed blog" not in content
    assert await page.locator("#audit-object").input_value() == made["id"]
    await shot(tab, "audit-connector-history-1280")

    # By name, then by action, then a day range that holds nothing.
    await page.fill("#audit-object", name)
    await page.wait_for_url(f"**object={quote(name)}**")
    assert await events.count() == 2
    await page.select_option("#audit-action", "connector.created")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=audit-event]').length === 1"
    )
    assert await events.nth(0).get_attribute("data-action") == "connector.created"
    assert "set" in await events.nth(0).inner_text()
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    await page.fill("#audit-since", tomorrow)
    await page.wait_for_selector("[data-testid=audit-empty]")
    assert "No events match" in await page.locator("#audit-events").inner_text()
    await page.fill("#audit-since", "")
    await page.wait_for_selector("[data-testid=audit-event]")
    await page.select_option("#audit-actor", label=server.email)
    await page.wait_for_selector("[data-testid=audit-event]")
    assert await events.count() == 1

    # Admins reach the page from the Settings menu.
    await page.click("[data-testid=settings-menu]")
    await page.click("#navbar-settings >> text=Audit log")
    await page.wait_for_url("**/settings/audit")
    await page.wait_for_selector("[data-testid=audit-event]")
    assert await page.locator("[data-testid=settings-menu].active").count() == 1


async def test_audit_page_on_a_390px_phone(browser, server):
    phone = await open_page(browser, width=390, height=844)
    await sign_in(phone, server)
    page = phone.page
    await page.goto(f"{server.url}/settings/audit")
    await page.wait_for_selector("[data-testid=audit-event]")
    overflow = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    await shot(phone, "audit-390")
    assert phone.problems == []
    await page.context.close()
