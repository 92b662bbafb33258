"""Publishing in Chromium against the real WordPress: test the publisher (the card shows who it
posts as), compose with the live counter and the sanitised preview, publish, and find the
published post with its link on the publications page."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import E2E, install_active, sign_in

pytestmark = [*E2E, pytest.mark.wordpress]


async def test_compose_preview_publish_and_open_the_post(tab, server, wordpress):
    name = f"Blog {uuid.uuid4().hex[:6]}"
    await install_active(server, {
        "catalog_key": "wordpress", "name": name,
        "config": {"base_url": wordpress.url, "site_label": "E2E blog", "default_status": "publish"},
        "auth": {"username": "editor", "password": wordpress.editor_password}})  # fmt: skip
    page = tab.page
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/installed")
    card = page.locator(f'[data-testid=installed-card][data-name="{name}"]')
    await card.locator("[data-testid=test-account-button]").click()
    await page.wait_for_selector(
        f'[data-testid=installed-card][data-name="{name}"] >> text=Posts as'
    )
    await page.locator(
        f'[data-testid=installed-card][data-name="{name}"] >> [data-testid=publish-button]'
    ).click()
    await page.fill("#pub-title", "From Chromium")
    await page.fill("#pub-text", "Hello from the browser 👋")
    await page.wait_for_selector('[data-testid=publish-counter][data-length="24"]')
    await page.fill("#pub-html", "<p>Hello <em>browser</em><script>window.bad=1</script></p>")
    await page.wait_for_selector("[data-testid=html-preview] >> em")
    assert await page.evaluate("window.bad === undefined")  # the preview never runs scripts
    await tab.screenshot("publish-composer")
    await page.click("[data-testid=publish-form] >> button[type=submit]")
    await page.wait_for_url("**/publications?connector_id=*")
    await page.wait_for_selector(
        '[data-testid=publication-card][data-status="published"]', timeout=20000
    )
    link = await page.locator("[data-testid=post-link]").first.get_attribute("href")
    assert link and link.startswith(wordpress.url)
    await tab.screenshot("publications")
    post_id = link.rstrip("/").rsplit("/", 1)[-1]
    found = wordpress.get("wp/v2/posts", slug=post_id, context="edit").json()
    assert found and found[0]["title"]["raw"] == "From Chromium"
