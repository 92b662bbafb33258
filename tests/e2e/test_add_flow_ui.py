"""The guided add flow in Chromium, on a server whose catalog has the slow tap (a real Singer
tap, tests/fixtures/slow_tap.py) and a local server playing WordPress: pick → configure (an
inline error at its field) → credentials → a test that fails → fix → a test that passes → save
with "activate now" → the card is active; and a failed test saved inactive."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_PLUGINS_DIR
from tests.e2e.conftest import CHROMIUM_ARGS, E2E, open_page, sign_in  # noqa: F401
from tests.fixtures import slow_tap
from tests.fixtures.live_server import LiveServer, live_server
from tests.fixtures.wordpress_users import play_wordpress

pytestmark = [*E2E, pytest.mark.tap]

PASSWORD = "flow-pass-Secr3t-77"
SHOTS = Path("/tmp/shots-addflow")


@pytest.fixture(scope="module")
def slow_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The tap's plugin is installed by the server's first test (the flow says it may take a minute).
    return slow_tap.TAP.write_catalog_dir(tmp_path_factory.mktemp("flow-catalog"), TEST_PLUGINS_DIR)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, slow_catalog: Path) -> Iterator[LiveServer]:
    env = {
        "CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
        "CONNECTORHUB_PLUGINS_DIR": str(TEST_PLUGINS_DIR),
        "CONNECTORHUB_CATALOG_EXTRA_DIR": str(slow_catalog),
    }
    with live_server(tmp_path_factory.mktemp("flow") / "data", **env) as running:
        yield running


def _status(server: LiveServer, name: str) -> str:
    found = httpx.get(
        f"{server.url}/api/installed", params={"search": name}, headers=server.headers
    )
    [connector] = found.json()["items"]
    return connector["status"]


def _nothing_named(server: LiveServer, name: str) -> bool:
    found = httpx.get(
        f"{server.url}/api/installed", params={"search": name}, headers=server.headers
    )
    return found.json()["total"] == 0


async def _shoot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await tab.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def _open(tab, server: LiveServer, key: str) -> None:
    page = tab.page
    await sign_in(tab, server)
    await page.click("[data-testid=add-connector]")
    await page.click(f"[data-testid=add-pick] [data-key={key}]")
    await page.wait_for_selector("[data-testid=add-flow]")


async def test_a_source_from_pick_to_active(tab, server):
    page = tab.page
    name = f"Slow {uuid.uuid4().hex[:6]}"
    await _open(tab, server, "slow")
    await page.fill("#f-name", name)
    await page.fill("#f-config-rows", "0")
    await page.select_option("#f-config-leak", "discover")  # the tap will fail as refused
    await page.click("[data-testid=add-next-configure]")
    error = page.locator("[data-error-for='config.rows']")
    await error.wait_for()
    assert await error.inner_text() == "Must be at least 1."
    assert await page.input_value("#f-name") == name  # what was typed is kept
    await _shoot(tab, "configure-error-1280")
    await page.fill("#f-config-rows", "5")
    await page.click("[data-testid=add-next-configure]")
    await page.wait_for_selector("[data-step-panel=credentials]:not([hidden])")
    await page.fill("#f-auth-username", "reader")
    await page.fill("#f-auth-password", PASSWORD)
    await page.click("[data-testid=add-next-credentials]")
    await page.click("[data-testid=add-run-test]")
    failed = page.locator("[data-testid=add-test-failed]")
    await failed.wait_for(timeout=240_000)  # the first test installs the tap
    assert "password authentication failed for user 'reader'" in await failed.inner_text()
    assert PASSWORD not in await page.content()
    assert await page.locator("#add-activate-now").is_disabled()
    await _shoot(tab, "source-test-failed-1280")
    assert _nothing_named(server, name)

    # Back to Configure: the settings and the typed password are still there.
    await page.click("[data-step-buttons=test] >> text=Back")
    await page.click("[data-step-buttons=credentials] >> text=Back")
    await page.select_option("#f-config-leak", "")
    await page.wait_for_selector("[data-testid=add-test-stale]", state="attached")
    await page.click("[data-testid=add-next-configure]")
    await page.wait_for_selector("[data-step-panel=credentials]:not([hidden])")
    assert await page.input_value("#f-auth-password") == PASSWORD
    await page.click("[data-testid=add-next-credentials]")
    await page.click("[data-testid=add-run-test]")
    passed = page.locator("[data-testid=add-test-ok]")
    await passed.wait_for(timeout=60_000)
    assert "1 stream found" in await passed.inner_text()
    assert "public-orders" in await page.locator("[data-testid=add-test-streams]").inner_text()
    await _shoot(tab, "source-test-ok-1280")
    await page.click("[data-testid=add-next-test]")
    assert await page.locator("#add-activate-now").is_checked()
    await page.click("[data-testid=add-save]")
    card = page.locator(f"[data-testid=installed-card][data-name='{name}']")
    await card.wait_for()
    assert await card.get_attribute("data-status") == "active"
    assert "added and active" in await page.locator("#toasts").inner_text()
    assert "Last test: ok" in await card.inner_text()  # tested again as saved
    assert _status(server, name) == "active"


async def test_a_publisher_from_pick_to_active(tab, server, api):
    play_wordpress(api, "editor", PASSWORD)
    page = tab.page
    name = f"Blog {uuid.uuid4().hex[:6]}"
    await _open(tab, server, "wordpress")
    await page.fill("#f-name", name)
    await page.fill("#f-config-base_url", "not a url")
    await page.fill("#f-config-site_label", "Flow blog")
    await page.click("[data-testid=add-next-configure]")
    error = page.locator("[data-error-for='config.base_url']")
    await error.wait_for()
    assert await error.inner_text() == "Must be a full URL, such as https://example.com."
    await page.fill("#f-config-base_url", api.url)
    await page.click("[data-testid=add-next-configure]")
    await page.wait_for_selector("[data-step-panel=credentials]:not([hidden])")
    await page.fill("#f-auth-username", "editor")
    await page.fill("#f-auth-password", "a wrong password")
    await page.click("[data-testid=add-next-credentials]")
    await page.click("[data-testid=add-run-test]")
    failed = page.locator("[data-testid=add-test-failed]")
    await failed.wait_for()
    assert "invalid application password" in await failed.inner_text()
    await page.click("[data-step-buttons=test] >> text=Back")
    await page.fill("#f-auth-password", PASSWORD)
    await page.click("[data-testid=add-next-credentials]")
    await page.click("[data-testid=add-run-test]")
    await page.wait_for_selector("[data-testid=add-test-ok]")
    assert (
        await page.locator("[data-testid=add-test-account]").inner_text() == "Editor Ed (@editor)"
    )
    await _shoot(tab, "publisher-test-ok-1280")
    await page.click("[data-testid=add-next-test]")
    summary = await page.locator("[data-testid=add-summary]").inner_text()
    assert f"Saves {name}, a WordPress publisher" in summary
    await _shoot(tab, "publisher-save-1280")
    await page.click("[data-testid=add-save]")
    card = page.locator(f"[data-testid=installed-card][data-name='{name}']")
    await card.wait_for()
    assert await card.get_attribute("data-status") == "active"
    assert "Posts as Editor Ed" in await card.inner_text()
    await _shoot(tab, "publisher-card-active-1280")
    assert PASSWORD not in await page.content()


async def test_a_failed_test_is_saved_inactive(tab, server, api):
    play_wordpress(api, "editor", "the right one")
    page = tab.page
    name = f"Blog {uuid.uuid4().hex[:6]}"
    await _open(tab, server, "wordpress")
    await page.fill("#f-name", name)
    await page.fill("#f-config-base_url", api.url)
    await page.fill("#f-config-site_label", "Flow blog")
    await page.click("[data-testid=add-next-configure]")
    await page.fill("#f-auth-username", "editor")
    await page.fill("#f-auth-password", PASSWORD)
    await page.click("[data-testid=add-next-credentials]")
    await page.click("[data-testid=add-run-test]")
    await page.wait_for_selector("[data-testid=add-test-failed]")
    await page.click("[data-testid=add-next-test]")
    assert await page.locator("#add-activate-now").is_disabled()
    assert "saved inactive" in await page.locator("[data-testid=add-activate-hint]").inner_text()
    await page.click("[data-testid=add-save]")
    card = page.locator(f"[data-testid=installed-card][data-name='{name}']")
    await card.wait_for()
    assert await card.get_attribute("data-status") == "inactive"
    assert _status(server, name) == "inactive"


async def test_the_flow_on_a_phone_and_generic_http_goes_to_the_builder(browser, server):
    phone = await open_page(browser, width=390, height=844)
    try:
        page = phone.page
        await sign_in(phone, server)
        await page.click("[data-testid=add-connector]")
        await page.wait_for_selector("[data-testid=add-pick]")
        assert (
            await page.get_attribute("[data-testid=add-pick-builder]", "href")
            == "/connectors/build"
        )
        await _shoot(phone, "pick-390")
        await page.click("[data-testid=add-pick] [data-key=postgres]")
        await page.wait_for_selector("[data-testid=add-flow]")
        overflow = await page.evaluate(
            "(() => { const b = document.querySelector('#modal .modal-body'); return b.scrollWidth - b.clientWidth; })()"
        )
        assert overflow <= 0
        button = page.locator("[data-testid=add-next-configure]")
        box = await button.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844  # the footer stays on screen
        await _shoot(phone, "configure-390")
        await page.fill("#f-name", f"Shop {uuid.uuid4().hex[:6]}")
        await page.fill("#f-config-database", "shop")
        await page.click("[data-testid=add-next-configure]")
        await page.wait_for_selector("[data-step-panel=credentials]:not([hidden])")
        await _shoot(phone, "credentials-390")
        assert phone.problems == []
    finally:
        await page.context.close()
