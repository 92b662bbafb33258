"""The HTTP connector journey in Chromium: add a credential, install an official template, run
it and watch its steps fill in live, then the bell after a refused credential."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from aiohttp import web

from tests.e2e.conftest import E2E, install_active, sign_in
from tests.web.test_execution_pages import secret_run_connector

pytestmark = E2E

ISSUES = [{"number": 7, "title": "Found a bug", "html_url": "https://github.com/o/r/issues/7"}]


async def install_activate_and_run(tab, name: str, base_url: str, screenshot: str = "") -> None:
    """From a template's page: install it as `name`, activate the card, run octocat/hello-world."""
    page = tab.page
    await page.fill("#install-name", name)
    await page.fill("#install-base-url", base_url)
    if screenshot:
        await tab.screenshot(screenshot)
    await page.click("[data-testid=install-form] >> button[type=submit]")
    card = f'[data-testid=installed-card][data-name="{name}"]'
    await page.locator(card).wait_for()
    await page.locator(card).locator("text=Activate").click()
    await page.wait_for_selector(f'{card}[data-status="active"]')
    await page.locator(f"{card} >> [data-testid=run-button]").click()
    await page.fill('[name="input.owner"]', "octocat")
    await page.fill('[name="input.repo"]', "hello-world")
    await page.click("[data-testid=run-form] >> button[type=submit]")


async def test_template_to_live_execution(tab, server, api):
    async def slow_issues(request):
        await asyncio.sleep(1.5)  # long enough to see the run in progress
        return web.json_response(ISSUES)

    api.route("/repos/octocat/hello-world/issues", slow_issues)
    page = tab.page
    await sign_in(tab, server)

    await page.click("[data-testid=settings-menu]")
    await page.click("#navbar-settings >> text=Credentials")
    await page.fill("#cred-name", "github")
    await page.select_option("#cred-kind", "bearer")
    await page.fill("#cred-hosts", "127.0.0.1")
    await page.fill("#cred-bearer-token", "ghp-e2e-secret-token")
    await page.click("text=Save credential")
    await page.wait_for_selector('[data-testid=credential-card][data-name="github"]')
    assert "ghp-e2e-secret-token" not in await page.content()

    await page.click("nav >> text=Templates")
    await page.click("[data-testid=source-official]")
    await page.click('[data-key="github-open-issues"] .card-footer a')
    await install_activate_and_run(
        tab, f"Issues {uuid.uuid4().hex[:6]}", api.url, "template-install"
    )
    await page.wait_for_url("**/executions/*")
    status = page.locator("[data-testid=execution-status]")
    assert await status.inner_text() in ("queued", "running")  # the page opens before it ends
    await page.wait_for_selector(
        '[data-testid=execution-live][data-status="succeeded"]', timeout=20000
    )
    assert await page.locator('[data-testid=step-card][data-status="succeeded"]').count() == 1
    assert "Found a bug" in await page.locator("[data-testid=execution-output]").inner_text()
    await tab.screenshot("execution-live")
    assert "ghp-e2e-secret-token" not in await page.content()

    await page.click("nav >> text=Executions")
    assert await page.locator('[data-testid=execution-card][data-status="succeeded"]').count() >= 1


async def test_a_refused_credential_rings_the_bell(tab, server, api):
    api.json("/repos/octocat/hello-world/issues", {"message": "Bad credentials"}, status=401)
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        made = await http.post(
            "/api/credentials",
            json={"name": "github", "kind": "bearer", "allowed_hosts": ["127.0.0.1"],
                  "values": {"token": "ghp-revoked"}},
        )  # fmt: skip
        assert made.status_code in (201, 409)  # 409: the other test added it already
    page = tab.page
    await sign_in(tab, server)
    await page.goto(f"{server.url}/templates/github-open-issues")
    await install_activate_and_run(tab, f"Refused {uuid.uuid4().hex[:6]}", api.url)
    await page.wait_for_selector(
        '[data-testid=execution-live][data-status="failed"]', timeout=20000
    )
    assert "401" in await page.locator("[data-testid=execution-error]").inner_text()
    await page.reload()
    await page.wait_for_selector("[data-testid=unread-count]")
    await page.click("[data-testid=bell]")
    await page.wait_for_selector("text=the credentials were refused")
    await tab.screenshot("notifications")
    await page.click("text=Mark all read")
    await page.wait_for_selector('[data-testid=notification][data-read="true"]')


async def test_run_form_secrets_are_typed_masked_and_not_sent_back(tab, server, api):
    body = secret_run_connector(api)
    await install_active(server, body)
    page = tab.page
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/installed")
    card = f'[data-testid=installed-card][data-name="{body["name"]}"]'
    await page.locator(f"{card} >> [data-testid=run-button]").click()
    password = page.locator('[data-testid=run-form] [name="input.password"]')
    assert await password.get_attribute("type") == "password"
    assert await password.get_attribute("autocomplete") == "off"
    await page.fill('[name="input.user"]', "7")
    await password.fill("924117305")  # all digits: refused by the server (the schema's `not`)
    await page.fill('[name="input.nested.otp"]', "typed-e2e-otp-7720")
    await page.click("[data-testid=run-form] >> button[type=submit]")
    await page.wait_for_selector('[data-error-for="input.password"]')
    assert await page.input_value('[name="input.user"]') == "7"  # kept
    assert await page.input_value('[name="input.password"]') == ""
    assert await page.input_value('[name="input.nested.otp"]') == ""
    content = await page.content()
    assert "924117305" not in content and "typed-e2e-otp-7720" not in content
