"""Settings → Webhooks over HTMX: admins only, the secret shown once, the event picker, the
delivery log and redelivery."""

from __future__ import annotations

import re

from connectorhub.tenant.models import Role
from tests.fixtures.browser_session import hx, sign_in
from tests.webhook.conftest import HOOK, settled, signed_correctly


async def test_create_shows_the_secret_once_then_the_log_and_redeliver(
    browser, client, workspace, api
):
    api.json(HOOK, {"ok": True})
    csrf = await sign_in(browser, workspace.owner)
    page = await browser.get("/settings/webhooks")
    assert page.status_code == 200 and 'data-testid="webhook-form"' in page.text
    for event in ("execution.succeeded", "sync.failed", "connector.status_changed"):
        assert f'value="{event}"' in page.text

    refused = await browser.post(
        "/settings/webhooks", data={"url": f"{api.url}{HOOK}"}, headers=hx(csrf, "webhooks")
    )
    assert "Pick at least one event." in refused.text and "webhook-secret" not in refused.text

    created = await browser.post(
        "/settings/webhooks",
        data={"url": f"{api.url}{HOOK}", "events": ["sync.failed", "execution.failed"]},
        headers=hx(csrf, "webhooks"),
    )
    secret = re.search(r'value="(whsec_[^"]+)"[^>]*data-testid="webhook-secret"', created.text)
    assert secret, created.text
    [webhook] = (await client.get("/api/webhooks", headers=workspace.owner.headers)).json()["items"]
    assert webhook["events"] == ["execution.failed", "sync.failed"]
    again = await browser.get("/settings/webhooks")
    assert secret.group(1) not in again.text and 'data-testid="webhook-card"' in again.text

    base = f"/settings/webhooks/{webhook['id']}"
    sent = await browser.post(f"{base}/test", headers=hx(csrf))
    assert sent.status_code == 200 and "Test event queued" in sent.headers["HX-Trigger"]
    [delivery] = await settled(client, workspace, webhook["id"])
    assert signed_correctly(api.hits_to(HOOK)[0], secret.group(1))
    log = await browser.get(f"{base}/deliveries", headers=hx())
    assert 'data-testid="delivery-row" data-status="succeeded"' in log.text
    assert "HTTP 200 · attempt 1" in log.text
    redelivered = await browser.post(
        f"{base}/deliveries/{delivery['id']}/redeliver", headers=hx(csrf)
    )
    assert (
        redelivered.status_code == 200 and "Redelivery queued" in redelivered.headers["HX-Trigger"]
    )
    assert len(await settled(client, workspace, webhook["id"], count=2)) == 2


async def test_members_do_not_see_webhooks(browser, workspace):
    member = await workspace.member(Role.member)
    await sign_in(browser, member)
    assert (await browser.get("/settings/webhooks")).status_code == 403
    assert "/settings/webhooks" not in (await browser.get("/settings/account")).text


async def test_another_workspaces_webhook_page_is_404(browser, client, workspace, other_workspace):
    created = await client.post(
        "/api/webhooks", json={"url": "https://example.com/h", "events": ["sync.failed"]},
        headers=other_workspace.owner.headers,
    )  # fmt: skip
    csrf = await sign_in(browser, workspace.owner)
    base = f"/settings/webhooks/{created.json()['id']}"
    assert (await browser.get(f"{base}/deliveries", headers=hx())).status_code == 404
    assert (await browser.post(f"{base}/test", headers=hx(csrf))).status_code == 404
    assert (await browser.post(f"{base}/delete", headers=hx(csrf))).status_code == 404
