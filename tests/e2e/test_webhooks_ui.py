"""Settings → Webhooks in a real browser: add a webhook with the event picker, the signing
secret shown once, a test event's delivery row in the log, redeliver."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import E2E, sign_in
from tests.fixtures.third_party import third_party_server
from tests.webhook.conftest import HOOK, signed_correctly

pytestmark = E2E


async def test_add_a_webhook_see_the_secret_once_and_a_delivery(tab, server):
    page = tab.page
    async with third_party_server() as receiver:
        receiver.json(HOOK, {"ok": True})
        await sign_in(tab, server)
        await page.click("[data-testid=settings-menu]")
        await page.click("a.dropdown-item[href$='/settings/webhooks']")
        await page.wait_for_url("**/settings/webhooks")
        await page.fill("#webhook-url", f"{receiver.url}{HOOK}")
        await page.check("input[name=events][value='execution.failed']")
        await page.check("input[name=events][value='connector.status_changed']")
        await page.click("[data-testid=webhook-form] button[type=submit]")
        secret_box = page.locator("[data-testid=webhook-secret]")
        await secret_box.wait_for()
        secret = await secret_box.input_value()
        assert secret.startswith("whsec_")
        card = page.locator(f"[data-testid=webhook-card][data-url='{receiver.url}{HOOK}']")
        assert "execution.failed" in await card.inner_text()
        await tab.screenshot("webhooks-created")

        await card.locator("[data-testid=test-event-button]").click()
        row = card.locator("[data-testid=delivery-row][data-status=succeeded]")
        await row.wait_for()
        assert "webhook.test" in await row.inner_text() and "HTTP 200" in await row.inner_text()
        [hit] = receiver.hits_to(HOOK)
        assert signed_correctly(hit, secret)

        await row.locator("[data-testid=redeliver-button]").click()
        await card.locator("[data-testid=delivery-row][data-status=succeeded]").nth(1).wait_for()
        assert len(receiver.hits_to(HOOK)) == 2
        await tab.screenshot("webhooks-delivered")

        # Shown once: a fresh load of the page has the card, never the secret.
        await page.reload()
        await card.wait_for()
        assert secret not in await page.content()
        async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
            listed = (await http.get("/api/webhooks")).json()["items"]
        assert secret not in str(listed)
