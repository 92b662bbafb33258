"""What pages say as a new user reads them: the frame after an HTMX swap, counts in words, what
the members and credentials forms offer. Layout in a browser: tests/e2e/test_layout_ui.py."""

from __future__ import annotations

import re

from connectorhub.credential.schemas import CredentialCreate
from connectorhub.tenant.models import Role
from connectorhub.web.templating import plural
from tests.connector.test_endpoints import create, twitter
from tests.fixtures.browser_session import hx


def card(html: str, testid: str, attribute: str, value: str) -> str:
    start = html.index(f'data-testid="{testid}" {attribute}="{value}"')
    end = html.find(f'data-testid="{testid}"', start + 1)
    return html[start : end if end != -1 else len(html)]


async def test_a_page_swapped_into_main_brings_its_title_and_its_highlighted_link(
    browser, owner_csrf
):
    response = await browser.get("/executions", headers=hx(target="main"))
    assert "<html" not in response.text
    assert "<title>Executions · ConnectorHub</title>" in response.text
    nav = re.search(r'<div class="collapse navbar-collapse" id="navbar-menu" hx-swap-oob="true">.*?</nav>', response.text, re.S)  # fmt: skip
    assert nav, response.text
    current = re.findall(r'<a [^>]*aria-current="page"[^>]*>(?:<i [^>]*></i>)?([^<]+)</a>', nav.group(0))  # fmt: skip
    assert current == ["Executions"]


def test_counts_are_words():
    assert plural(1, "run") == "1 run"
    assert plural(0, "run") == "0 runs" and plural(2, "stream") == "2 streams"
    assert plural(1200, "row") == "1,200 rows" and plural(2, "entry", "entries") == "2 entries"


async def test_the_only_owner_is_not_offered_remove_on_themselves(browser, owner_csrf, workspace):
    member = await workspace.member(Role.member)
    page = await browser.get("/settings/members")
    own = card(page.text, "member-card", "data-email", workspace.owner.email)
    assert "/remove" not in own and "The only owner" in own
    assert "/remove" in card(page.text, "member-card", "data-email", member.email)

    second = await workspace.member(Role.owner)
    page = await browser.get("/settings/members")
    assert "/remove" in card(page.text, "member-card", "data-email", workspace.owner.email)
    assert "/remove" in card(page.text, "member-card", "data-email", second.email)


async def test_the_credential_name_rule_is_shown_beside_the_field(browser, owner_csrf):
    page = await browser.get("/settings/credentials")
    rule = CredentialCreate.model_json_schema()["properties"]["name"]
    field = re.search(r'<input [^>]*id="cred-name"[^>]*>', page.text).group(0)
    assert f'pattern="{rule["pattern"].strip("^$")}"' in field
    assert 'aria-describedby="cred-name-rule"' in field
    hint = re.search(r'id="cred-name-rule"[^>]*>([^<]+)<', page.text).group(1)
    assert hint.startswith("Lower-case letters, digits and _, starting with a letter")


async def test_installed_cards_say_their_config_in_one_line_without_secrets(
    browser, owner_csrf, client, workspace
):
    body = {
        "catalog_key": "wordpress", "name": "Company blog",
        "config": {"base_url": "https://blog.example.com", "site_label": "Our blog"},
        "auth": {"username": "editor", "password": "wp-app-password-4417"},
    }  # fmt: skip
    await create(client, workspace, body)
    await create(client, workspace, twitter("Brand X"))
    page = await browser.get("/connectors/installed")
    lines = re.findall(r'data-testid="config-summary">([^<]*)<', page.text)
    assert sorted(lines) == ["brand", "https://blog.example.com · Our blog"]
    assert "wp-app-password-4417" not in page.text


async def test_configure_shows_a_non_secret_auth_field_in_clear_and_masks_a_secret(
    browser, owner_csrf, client, workspace
):
    created = await create(client, workspace, {
        "catalog_key": "wordpress", "name": "Blog to configure",
        "config": {"base_url": "https://blog.example.com", "site_label": "Our blog"},
        "auth": {"username": "editor-jane", "password": "wp-app-password-4417"},
    })  # fmt: skip
    form = await browser.get(f"/connectors/{created['id']}/edit", headers=hx(target="modal"))
    assert form.status_code == 200, form.text
    username = re.search(r'<input [^>]*name="auth.username"[^>]*>', form.text)
    assert username, form.text
    assert 'type="text"' in username.group(0) and 'value="editor-jane"' in username.group(0)
    assert 'data-testid="secret-password"' in form.text  # set, masked, "Update secret"
    assert 'name="auth.password"' not in form.text
    assert "wp-app-password-4417" not in form.text

    kept = await browser.post(
        f"/connectors/{created['id']}/edit", headers=hx(owner_csrf, "modal"),
        data={"name": "Blog to configure", "tags": "", "config.base_url": "https://blog.example.com",
              "config.site_label": "Our blog", "auth.username": "editor-joe"},
    )  # fmt: skip
    assert kept.status_code == 200, kept.text
    again = await browser.get(f"/connectors/{created['id']}/edit", headers=hx(target="modal"))
    assert 'value="editor-joe"' in again.text and 'data-testid="secret-password"' in again.text
