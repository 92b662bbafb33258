"""The connectors UI in a real browser: catalog, add flow, inline errors, edit, status, delete,
viewer restrictions, tabs and history, narrow screens. Screenshots land in test-artifacts/."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import httpx

from tests.e2e.conftest import E2E, add_user, open_page, sign_in

pytestmark = E2E

SECRET = "wp-app-password-SECRET-42"


def _unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


async def _add_wordpress(page, name: str) -> None:
    await page.click("[data-testid=add-connector]")
    await page.click("[data-testid=add-pick] [data-key=wordpress]")
    await page.wait_for_selector("[data-testid=add-flow]")
    await page.fill("#f-name", name)
    await page.fill("#f-config-base_url", "https://blog.example.com")
    await page.fill("#f-config-site_label", "Company blog")
    await page.select_option("#f-config-default_status", "publish")
    await page.click("[data-testid=add-next-configure]")  # the guided flow, its test skipped
    await page.fill("#f-auth-username", "editor")
    await page.fill("#f-auth-password", SECRET)
    await page.click("[data-testid=add-next-credentials]")
    await page.click("[data-testid=add-next-test]")
    await page.click("[data-testid=add-save]")
    await page.wait_for_selector(f"[data-testid=installed-card][data-name='{name}']")


async def test_catalog_cards_render_with_seed_data(tab, server):
    await sign_in(tab, server)
    page = tab.page
    cards = page.locator("[data-testid=catalog-card]")
    assert await cards.count() >= 7
    keys = {await cards.nth(i).get_attribute("data-key") for i in range(await cards.count())}
    assert {"twitter", "wordpress", "linkedin", "medium", "salesforce", "postgres", "http"} <= keys
    assert await page.locator("table").count() == 0  # cards, never a table
    await tab.screenshot("catalog")
    await page.fill("#catalog-search", "word")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=catalog-card]').length === 1"
    )
    await page.select_option("#catalog-category", "Social")
    await page.fill("#catalog-search", "")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=catalog-card]').length === 2"
    )
    assert "category=Social" in page.url


async def test_full_add_flow(tab, server):
    await sign_in(tab, server)
    page = tab.page
    name = _unique("Blog")
    await _add_wordpress(page, name)
    assert page.url.endswith("/connectors/installed")
    card = page.locator(f"[data-testid=installed-card][data-name='{name}']")
    assert await card.get_attribute("data-status") == "inactive"
    await page.wait_for_selector("#toasts .alert-success")
    assert "added" in await page.locator("#toasts").inner_text()
    assert await page.locator("#modal .modal").count() == 0
    await tab.screenshot("installed-after-add")
    assert SECRET not in await page.content()


async def test_schema_error_shows_inline_and_nothing_is_saved(tab, server):
    await sign_in(tab, server)
    page = tab.page
    name = _unique("Broken")
    await page.click("[data-testid=add-connector]")
    await page.click("[data-testid=add-pick] [data-key=wordpress]")
    await page.fill("#f-name", name)
    await page.fill("#f-config-base_url", "not a url")
    await page.fill("#f-config-site_label", "x")
    await page.click("[data-testid=add-next-configure]")
    error = page.locator("[data-error-for='config.base_url']")
    await error.wait_for()
    assert await error.inner_text() == "Must be a full URL, such as https://example.com."
    assert (
        await page.locator("[data-error-for='config.site_label']").inner_text()
        == "Must be at least 2 characters."
    )
    assert await page.input_value("#f-config-base_url") == "not a url"  # what was typed is kept
    await tab.screenshot("form-inline-errors")
    listed = httpx.get(
        f"{server.url}/api/installed", params={"search": name}, headers=server.headers
    ).json()
    assert listed["total"] == 0


async def test_edit_keeps_secrets_masked_and_update_secret_replaces_it(tab, server):
    await sign_in(tab, server)
    page = tab.page
    name = _unique("Editable")
    await _add_wordpress(page, name)
    card = page.locator(f"[data-testid=installed-card][data-name='{name}']")
    await card.get_by_role("button", name=f"Configure {name}").click()
    await page.wait_for_selector("[data-testid=secret-password]")
    assert SECRET not in await page.content()
    assert await page.input_value("#f-config-site_label") == "Company blog"
    await tab.screenshot("edit-modal")
    await page.locator("[data-testid=secret-password] button").click()
    await page.fill("input[name='auth.password']", "a-brand-new-password")
    await page.fill("#f-config-site_label", "Renamed blog")
    await page.click("[data-testid=connector-form] button[type=submit]")
    await page.wait_for_selector("#modal .modal", state="detached")
    await page.wait_for_selector("#toasts .alert-success")
    assert "a-brand-new-password" not in await page.content()
    connector = httpx.get(
        f"{server.url}/api/installed", params={"search": name}, headers=server.headers
    ).json()["items"][0]
    assert connector["config"]["site_label"] == "Renamed blog"
    assert connector["auth"] == {"password": "********", "username": "editor"}


async def test_activate_and_deactivate_update_the_card_in_place(tab, server):
    await sign_in(tab, server)
    page = tab.page
    name = _unique("Toggle")
    await _add_wordpress(page, name)
    card = page.locator(f"[data-testid=installed-card][data-name='{name}']")
    await card.get_by_role("button", name=f"Activate {name}").click()
    await page.wait_for_selector(
        f"[data-testid=installed-card][data-name='{name}'][data-status=active]"
    )
    assert await card.locator("[data-testid=status-badge]").inner_text() == "active"
    await tab.screenshot("card-active")
    await card.get_by_role("button", name=f"Deactivate {name}").click()
    await page.wait_for_selector(
        f"[data-testid=installed-card][data-name='{name}'][data-status=inactive]"
    )


async def test_delete_with_confirmation_removes_the_card(tab, server):
    await sign_in(tab, server)
    page = tab.page
    name = _unique("Doomed")
    await _add_wordpress(page, name)
    await (
        page.locator(f"[data-testid=installed-card][data-name='{name}']")
        .get_by_role("button", name=f"Delete {name}")
        .click()
    )
    await page.wait_for_selector(
        f"[data-testid=installed-card][data-name='{name}']", state="detached"
    )
    listed = httpx.get(
        f"{server.url}/api/installed", params={"search": name}, headers=server.headers
    ).json()
    assert listed["total"] == 0


async def test_viewer_sees_no_mutating_controls_and_a_forged_post_is_refused(tab, server):
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    password = add_user(server, email, "viewer")
    target = httpx.post(
        f"{server.url}/api/connectors", headers=server.headers,
        json={"catalog_key": "http", "name": _unique("Protected"), "config": {"base_url": "https://api.example.com"}},
    ).json()  # fmt: skip
    await sign_in(tab, server, email, password)
    page = tab.page
    for path in ["/connectors/catalog", "/connectors/installed"]:
        await page.goto(f"{server.url}{path}")
        assert await page.locator("[data-testid=add-connector]").count() == 0
        assert await page.get_by_role("button", name="Delete").count() == 0
        assert await page.get_by_role("button", name="Configure").count() == 0
    await tab.screenshot("viewer-installed")
    status = await page.evaluate(
        """async (id) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
            const r = await fetch(`/connectors/${id}/delete`, {method: 'POST', headers: {'X-CSRF-Token': token}});
            return r.status;
        }""",
        target["id"],
    )
    assert status == 403
    tab.problems[:] = [
        p for p in tab.problems if "403" not in p
    ]  # the refusal itself is logged by Chromium
    still = httpx.get(f"{server.url}/api/installed/{target['id']}", headers=server.headers)
    assert still.status_code == 200


async def test_tabs_switch_without_reload_and_history_works(tab, server):
    await sign_in(tab, server)
    page = tab.page
    await page.evaluate("window.__marker = 'same document'")
    await page.click("[data-testid=tab-installed]")
    await page.wait_for_url("**/connectors/installed")
    assert await page.evaluate("window.__marker") == "same document"  # HTMX swap, no full reload
    await page.go_back()
    await page.wait_for_url("**/connectors/catalog")
    await page.wait_for_selector("[data-testid=catalog-card]")
    await page.reload()
    assert await page.locator("[data-testid=catalog-card]").count() >= 7


async def test_no_console_errors_on_any_page(tab, server):
    await sign_in(tab, server)
    for path in [
        "/connectors/catalog",
        "/connectors/installed",
        "/settings/members",
        "/settings/tokens",
        "/settings/account",
        "/login",
    ]:
        response = await tab.page.goto(f"{server.url}{path}")
        await tab.page.wait_for_load_state("networkidle")
        # Each page itself: served (not an error page), not bounced to the login form, and
        # clean (no console error, page error or failed request) before the next one loads.
        assert response is not None and response.status == 200, (path, response)
        assert urlsplit(tab.page.url).path == path, (path, tab.page.url)
        assert await tab.page.locator("main, form").count() >= 1, path
        assert tab.problems == [], (path, tab.problems)
    await tab.page.goto(f"{server.url}/settings/members")
    await tab.screenshot("members")
    await tab.page.goto(f"{server.url}/settings/tokens")
    await tab.screenshot("tokens")


async def test_inputs_are_labelled_and_reachable_by_keyboard(tab, server):
    await sign_in(tab, server)
    page = tab.page
    await page.click("[data-testid=add-connector]")
    await page.click("[data-testid=add-pick] [data-key=twitter]")
    await page.wait_for_selector("[data-testid=add-flow]")
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.name || el.id)"""
    )
    assert unlabelled == []
    await page.keyboard.press("Escape")
    await page.wait_for_selector("#modal .modal", state="detached")
    await page.focus("[data-testid=add-connector]")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("[data-testid=add-pick]")


async def test_usable_on_a_390px_phone_screen(browser, server):
    phone = await open_page(browser, width=390, height=844)
    try:
        await sign_in(phone, server)
        for path, shot in [
            ("/connectors/catalog", "phone-catalog"),
            ("/connectors/installed", "phone-installed"),
        ]:
            await phone.page.goto(f"{server.url}{path}")
            overflow = await phone.page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
            await phone.screenshot(shot)
        await phone.page.click("[data-testid=add-connector]")
        await phone.page.click("[data-testid=add-pick] [data-key=twitter]")
        await phone.page.wait_for_selector("[data-testid=add-flow]")
        await phone.screenshot("phone-add-form")
        assert phone.problems == []
    finally:
        await phone.page.context.close()


async def test_form_buttons_stay_reachable_in_a_short_window(browser, server):
    """The modal body scrolls and its footer (Next) stays on screen, on a laptop and a phone."""
    for width, height in [(1280, 600), (390, 664)]:
        short = await open_page(browser, width=width, height=height)
        try:
            await sign_in(short, server)
            await short.page.click("[data-testid=add-connector]")
            await short.page.click("[data-testid=add-pick] [data-key=postgres]")
            await short.page.wait_for_selector("[data-testid=add-flow]")
            button = short.page.locator("[data-testid=add-next-configure]")
            box = await button.bounding_box()
            assert box is not None and box["y"] + box["height"] <= height, (
                f"Next is off screen at {width}x{height}"
            )
            scrollable = await short.page.evaluate(
                "(() => { const b = document.querySelector('#modal .modal-body'); return b.scrollHeight > b.clientHeight && getComputedStyle(b).overflowY === 'auto'; })()"
            )
            assert scrollable
            await short.page.mouse.move(width / 2, height / 2)
            await short.page.mouse.wheel(0, 2000)
            await short.page.wait_for_function(
                "document.querySelector('#modal .modal-body').scrollTop > 0"
            )
            assert short.problems == []
        finally:
            await short.page.context.close()
