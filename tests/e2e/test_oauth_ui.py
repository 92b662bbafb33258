"""Connect with X in Chromium: from the Installed card through the provider's consent page
(a real local OAuth 2.0 server, tests/fixtures/oauth_server.py) and back, against a real
`connectorhub serve` started with the X app's settings pointing at that server.

The session `server` starts before any provider exists, and the OAuth app is read when `serve`
starts: this module runs its own server, started once the provider is listening. The provider
is an aiohttp app in the tests' (session) event loop, so it answers while the tests await
Playwright; every call to the hub from here is async for the same reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.conftest import TEST_PLUGINS_DIR
from tests.e2e.conftest import E2E, sign_in
from tests.fixtures.live_server import LiveServer, live_server
from tests.fixtures.oauth_server import OAuthServer, oauth_server, s256

pytestmark = E2E

SCOPES = ["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"]


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[OAuthServer]:
    async with oauth_server() as running:
        running.add_client("x-app", secret="x-secret", auth_method="client_secret_basic")
        running.auto_approve = False  # the HTML consent page, with Approve and Deny
        yield running


@pytest.fixture(scope="module")
def x_server(
    provider: OAuthServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`connectorhub serve` with the operator's X app registered at the local provider, which
    also plays X's API. No public URL: the callback is built from the browser's Host."""
    env = {
        "CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
        "CONNECTORHUB_PLUGINS_DIR": str(TEST_PLUGINS_DIR),
        "CONNECTORHUB_OAUTH_TWITTER_CLIENT_ID": "x-app",
        "CONNECTORHUB_OAUTH_TWITTER_CLIENT_SECRET": "x-secret",
        "CONNECTORHUB_OAUTH_TWITTER_AUTHORIZE_URL": provider.authorize_url,
        "CONNECTORHUB_OAUTH_TWITTER_TOKEN_URL": provider.token_url,
        "CONNECTORHUB_X_API_URL": provider.url,
    }
    with live_server(tmp_path_factory.mktemp("e2e-oauth") / "data", **env) as running:
        yield running


@pytest.fixture
def x_app(provider: OAuthServer) -> OAuthServer:
    """The provider with this test's records only."""
    provider.authorize_requests.clear()
    provider.token_requests.clear()
    provider.issued_access_tokens.clear()
    provider.code_exchanges = provider.refreshes = 0
    return provider


async def add_x(server: LiveServer) -> tuple[str, str]:
    name = f"X {uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        created = await http.post("/api/connectors", json={
            "catalog_key": "twitter", "name": name, "config": {"account_label": "@acme"},
            "auth": {}})  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()["id"], name


async def installed(server: LiveServer, cid: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        shown = await http.get(f"/api/installed/{cid}")
    assert shown.status_code == 200, shown.text
    return shown


async def to_consent(tab, server: LiveServer, provider: OAuthServer, name: str) -> None:
    """Signed in: Installed, the card's Connect with X, the Connect button, the consent page."""
    page = tab.page
    # The stand-in provider has no favicon; its 404 would be logged as a console error.
    await page.context.route(f"{provider.url}/favicon.ico", lambda route: route.fulfill(status=204))
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/installed")
    card = page.locator(f'[data-testid=installed-card][data-name="{name}"]')
    link = card.locator("[data-testid=oauth-connect-link]")
    assert (await link.inner_text()).strip() == "Connect with X"
    await link.click()
    await page.wait_for_url("**/oauth/connect/connector/*")
    button = page.locator("[data-testid=oauth-connect-button]")
    assert (await button.inner_text()).strip() == "Connect with X"
    await button.click()
    await page.wait_for_url(provider.authorize_url + "?*")
    # The provider's own page names the client and what it asks for.
    assert (await page.locator("h1").inner_text()) == "Authorize x-app"
    assert await page.locator("li").all_inner_texts() == SCOPES
    asked = provider.authorize_requests[-1]
    assert asked["redirect_uri"] == f"{server.url}/oauth/callback"
    assert asked["code_challenge_method"] == "S256" and asked["scope"] == " ".join(SCOPES)


async def test_connect_with_x_through_the_consent_page(tab, x_server, x_app):
    cid, name = await add_x(x_server)
    page = tab.page
    await to_consent(tab, x_server, x_app, name)
    await tab.screenshot("oauth-consent")
    await page.click("button[value=approve]")
    await page.wait_for_url(f"{x_server.url}/connectors/installed?*connected={cid}")
    toast = page.locator("#toasts .alert")
    await toast.wait_for()
    assert (await toast.inner_text()).strip() == (
        f"{name} is connected to X as testuser. Activate it to use it."
    )
    card = page.locator(f'[data-testid=installed-card][data-name="{name}"]')
    assert (await card.locator("[data-testid=oauth-connect-link]").inner_text()).strip() == (
        "Reconnect"
    )
    await tab.screenshot("oauth-connected")
    # One exchange, with the PKCE verifier; the tokens are sealed and never shown.
    assert x_app.code_exchanges == 1
    exchanges = [r for r in x_app.token_requests if r["form"].get("grant_type") == "authorization_code"]  # fmt: skip
    assert len(exchanges) == 1
    verifier = exchanges[0]["form"].get("code_verifier", "")
    assert verifier and s256(verifier) == x_app.authorize_requests[-1]["code_challenge"]
    shown = await installed(x_server, cid)
    body = shown.json()
    assert body["auth"] == {"access_token": "********", "refresh_token": "********",
                            "expires_at": body["auth"]["expires_at"]}  # fmt: skip
    assert body["auth"]["expires_at"] != "********"
    assert body["oauth"]["state"] == "ok" and body["oauth"]["scopes"] == SCOPES
    assert body["account"]["handle"] == "testuser"
    html = await page.content()
    assert x_app.issued_access_tokens
    for token in x_app.issued_access_tokens:
        assert token not in html and token not in shown.text


async def test_deny_at_the_consent_page_stores_nothing(tab, x_server, x_app):
    cid, name = await add_x(x_server)
    page = tab.page
    await to_consent(tab, x_server, x_app, name)
    await page.click("button[value=deny]")
    await page.wait_for_url(f"{x_server.url}/oauth/callback?*")
    await page.wait_for_selector("[data-testid=oauth-refused]")
    message = await page.locator("[data-testid=oauth-refused-message]").inner_text()
    assert "Access was declined at X." in message
    await tab.screenshot("oauth-refused")
    # The refusal is answered 400 by design, which Chromium logs: that one message, and no other.
    refused_status = "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"  # fmt: skip
    assert tab.problems == [refused_status]
    tab.problems.clear()
    assert x_app.token_requests == [] and x_app.code_exchanges == 0
    body = (await installed(x_server, cid)).json()
    assert body["auth"] == {} and not body.get("oauth")
    await page.goto(f"{x_server.url}/connectors/installed")
    card = page.locator(f'[data-testid=installed-card][data-name="{name}"]')
    assert (await card.locator("[data-testid=oauth-connect-link]").inner_text()).strip() == (
        "Connect with X"
    )
