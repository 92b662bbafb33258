"""The guided add flow's routes (connector/add_flow.py) as the browser calls them: Configure's
check, the draft's Test, Save (active or not), the Generic HTTP hand-over to the builder, and
that no secret is ever rendered back. The whole flow in Chromium: tests/e2e/test_add_flow_ui.py."""

from __future__ import annotations

import re
import uuid

from connectorhub.tenant.models import Role
from tests.fixtures.browser_session import hx, sign_in
from tests.fixtures.wordpress_users import play_wordpress

SECRET = "add-flow-app-pass-9"


def wordpress_form(url: str, name: str, password: str = SECRET, **more: str) -> dict[str, str]:
    return {"name": name, "config.base_url": url, "config.site_label": "Flow blog",
            "config.default_status": "draft", "auth.username": "editor",
            "auth.password": password, **more}  # fmt: skip


async def listed(browser, workspace, name: str) -> list[dict]:
    found = await browser.get(
        "/api/installed", params={"search": name}, headers=workspace.owner.headers
    )
    return found.json()["items"]


async def test_configure_shows_errors_at_their_fields_and_goes_on_when_right(
    browser, owner_csrf, workspace
):
    name = f"Flow {uuid.uuid4().hex[:6]}"
    opened = await browser.get("/connectors/add/wordpress", headers=hx(owner_csrf, "modal"))
    assert 'data-testid="add-flow"' in opened.text and "Add WordPress" in opened.text
    refused = await browser.post(
        "/connectors/add/wordpress/configure", headers=hx(owner_csrf),
        data=wordpress_form("not a url", name),
    )  # fmt: skip
    assert 'data-error-for="config.base_url"' in refused.text
    assert "Must be a full URL" in refused.text and "HX-Trigger" not in refused.headers
    assert 'value="not a url"' in refused.text  # what was typed is kept
    assert SECRET not in refused.text  # the credentials are never rendered back
    passed = await browser.post(
        "/connectors/add/wordpress/configure", headers=hx(owner_csrf),
        data=wordpress_form("https://blog.example.com", name),
    )  # fmt: skip
    assert passed.headers["HX-Trigger"] == '{"addFlowStep": "credentials"}'
    assert "data-error-for" not in passed.text
    assert await listed(browser, workspace, name) == []


async def test_a_test_then_save_with_activate_now(browser, owner_csrf, workspace, api):
    play_wordpress(api, "editor", SECRET)
    name = f"Flow {uuid.uuid4().hex[:6]}"
    tested = await browser.post(
        "/connectors/add/wordpress/test", headers=hx(owner_csrf), data=wordpress_form(api.url, name)
    )
    assert 'data-testid="add-test-ok"' in tested.text and "Editor Ed (@editor)" in tested.text
    assert re.search(r'id="add-activate-now"[^>]*\bchecked\b', tested.text)
    assert SECRET not in tested.text
    assert await listed(browser, workspace, name) == []  # a test stores nothing
    saved = await browser.post(
        "/connectors/add/wordpress", headers=hx(owner_csrf),
        data=wordpress_form(api.url, name, activate="on", tested="ok"),
    )  # fmt: skip
    assert saved.status_code == 200 and "added and active" in saved.headers["HX-Trigger"]
    [connector] = await listed(browser, workspace, name)
    assert connector["status"] == "active" and connector["auth"]["password"] == "********"
    # Saved after a passing test: tested again as saved, so the card knows who it posts as.
    assert connector["account"] == {"id": "7", "name": "Editor Ed", "handle": "editor"}
    assert connector["last_test"]["ok"] is True
    assert len(api.hits_to("/wp-json/wp/v2/users/me")) == 2


async def test_a_failed_test_is_saved_inactive(browser, owner_csrf, workspace, api):
    play_wordpress(api, "editor", "the right one")
    name = f"Flow {uuid.uuid4().hex[:6]}"
    tested = await browser.post(
        "/connectors/add/wordpress/test", headers=hx(owner_csrf), data=wordpress_form(api.url, name)
    )
    assert 'data-testid="add-test-failed"' in tested.text
    assert "invalid application password" in tested.text and "saved inactive" in tested.text
    assert re.search(r'id="add-activate-now"[^>]*\bdisabled\b', tested.text)
    saved = await browser.post(
        "/connectors/add/wordpress", headers=hx(owner_csrf), data=wordpress_form(api.url, name)
    )
    assert "inactive until you activate it" in saved.headers["HX-Trigger"]
    [connector] = await listed(browser, workspace, name)
    assert connector["status"] == "inactive" and connector["last_test"] is None


async def test_save_refused_goes_back_to_configure_and_stores_nothing(
    browser, owner_csrf, workspace
):
    name = f"Flow {uuid.uuid4().hex[:6]}"
    refused = await browser.post(
        "/connectors/add/wordpress", headers=hx(owner_csrf),
        data=wordpress_form("ftp://blog.example.com", name, activate="on"),
    )  # fmt: skip
    assert refused.headers["HX-Trigger"] == '{"addFlowStep": "configure"}'
    assert 'id="add-configure" data-testid="add-configure" hx-swap-oob="true"' in refused.text
    assert 'data-error-for="config.base_url"' in refused.text and SECRET not in refused.text
    assert await listed(browser, workspace, name) == []


async def test_activate_now_without_credentials_is_refused_at_credentials(
    browser, owner_csrf, workspace
):
    name = f"Flow {uuid.uuid4().hex[:6]}"
    form = wordpress_form("https://blog.example.com", name, activate="on")
    del form["auth.password"]
    refused = await browser.post("/connectors/add/wordpress", headers=hx(owner_csrf), data=form)
    assert "Application Password" in refused.text and "Required before" in refused.text
    assert 'data-add-flow-go="credentials"' in refused.text
    assert await listed(browser, workspace, name) == []  # nothing half-saved


async def test_an_oauth_entry_says_connect_comes_after_save(browser, owner_csrf):
    opened = await browser.get("/connectors/add/twitter", headers=hx(owner_csrf, "modal"))
    assert "comes right after <strong>Save</strong>" in opened.text
    tested = await browser.post(
        "/connectors/add/twitter/test", headers=hx(owner_csrf),
        data={"name": "X", "config.account_label": "@me"},
    )  # fmt: skip
    assert 'data-testid="add-test-note"' in tested.text and "Connect with X" in tested.text


async def test_generic_http_hands_over_to_the_builder(browser, owner_csrf):
    picker = await browser.get("/connectors/add", headers=hx(owner_csrf, "modal"))
    assert 'href="/connectors/build" data-key="http"' in picker.text
    handed = await browser.get("/connectors/add/http", headers=hx(owner_csrf, "modal"))
    assert handed.headers["HX-Redirect"] == "/connectors/build"
    plain = await browser.get("/connectors/add/http", follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/connectors/build"


async def test_viewers_get_no_add_flow(browser, workspace):
    viewer = await workspace.member(Role.viewer)
    csrf = await sign_in(browser, viewer)
    assert (await browser.get("/connectors/add", headers=hx(csrf, "modal"))).status_code == 403
    tried = await browser.post(
        "/connectors/add/wordpress/test", headers=hx(csrf),
        data=wordpress_form("https://blog.example.com", "Nope"),
    )  # fmt: skip
    assert tried.status_code == 403


async def test_a_test_of_an_invalid_draft_names_the_fields_to_fix(browser, owner_csrf, api):
    tested = await browser.post(
        "/connectors/add/wordpress/test", headers=hx(owner_csrf),
        data=wordpress_form("not a url", "Anything", password=""),
    )  # fmt: skip
    assert 'data-testid="add-test-refused"' in tested.text
    assert (
        '<a href="#" data-add-flow-go="configure">Site URL</a>: Must be a full URL' in tested.text
    )
    assert (
        '<a href="#" data-add-flow-go="credentials">Application Password</a>: '
        "Required to test the connection." in tested.text
    )
    assert api.hits == []  # nothing was called


async def test_an_oauth_entry_saved_without_tokens_goes_on_to_connect(
    browser, owner_csrf, workspace
):
    name = f"X {uuid.uuid4().hex[:6]}"
    saved = await browser.post(
        "/connectors/add/twitter", headers=hx(owner_csrf),
        data={"name": name, "config.account_label": "@acme"},
    )  # fmt: skip
    assert saved.status_code == 200
    assert saved.headers["HX-Redirect"].startswith("/oauth/connect/connector/")
    [connector] = await listed(browser, workspace, name)
    assert saved.headers["HX-Redirect"].endswith(connector["id"])
    assert connector["status"] == "inactive"
