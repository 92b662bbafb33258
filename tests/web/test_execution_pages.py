"""Pages for runs, templates, credentials and notifications, on both databases (same services
as the API). Browser flows are in tests/e2e."""

from __future__ import annotations

import asyncio
import re

import httpx

from connectorhub.tenant.models import Role
from tests.execution.test_endpoints import http_connector, install, play_api
from tests.fixtures.browser_session import hx, sign_in


async def test_new_pages_need_a_session(browser):
    for path in ["/templates", "/executions", "/settings/credentials", "/notifications"]:
        response = await browser.get(path)
        assert response.status_code in (303, 401), path


async def test_run_form_runs_and_the_execution_page_fills_in(browser, client, workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    csrf = await sign_in(browser, workspace.owner)
    installed = await browser.get("/connectors/installed")
    assert 'data-testid="run-button"' in installed.text
    form = await browser.get(f"/connectors/{connector['id']}/run", headers=hx(target="modal"))
    assert 'name="input.user"' in form.text and 'name="input.password"' in form.text
    bad = await browser.post(
        f"/connectors/{connector['id']}/run", data={"input.user": "0"}, headers=hx(csrf, "modal")
    )
    assert "is-invalid" in bad.text or "invalid-feedback" in bad.text  # minimum 1, shown inline
    ran = await browser.post(
        f"/connectors/{connector['id']}/run",
        data={"input.user": "7", "input.password": "pw"},
        headers=hx(csrf, "modal"),
    )
    assert ran.status_code == 200 and "/executions/" in ran.headers["HX-Location"]
    path = ran.headers["HX-Location"].split('"path": "')[1].split('"')[0]
    for _ in range(600):  # up to 30 s on a loaded machine; usually a few rounds
        live = await browser.get(path, headers=hx(target="execution-live"))
        if 'data-status="succeeded"' in live.text:
            break
        await asyncio.sleep(0.05)
    assert 'data-status="succeeded"' in live.text and "hx-trigger" not in live.text  # polling stops
    assert live.text.count('data-testid="step-card"') == 2 and "Ada" in live.text
    assert "pw" not in live.text.replace("password", "")  # the secret input stays masked
    history = await browser.get(f"/executions?connector_id={connector['id']}")
    assert history.text.count('data-testid="execution-card"') == 1


SECRETS = {"password": "924117305", "otp": "otp-secret-5521", "pins": ["pin-secret-1", "pin-2"]}


def secret_run_connector(api) -> dict:
    """Secrets at the top, nested through a $ref, and as array items; the password must not be
    all digits (a `not`, whose jsonschema message quotes the value)."""
    body = http_connector(api)
    body["definition"]["input_schema"] = {
        "type": "object",
        "required": ["user"],
        "$defs": {"otp": {"type": "string", "writeOnly": True}},
        "properties": {
            "user": {"type": "integer", "minimum": 1},
            "password": {"type": "string", "writeOnly": True, "not": {"pattern": "^[0-9]+$"}},
            "nested": {
                "type": "object",
                "properties": {"otp": {"$ref": "#/$defs/otp"}, "label": {"type": "string"}},
            },
            "pins": {"type": "array", "items": {"type": "string", "format": "password"}},
        },
        "additionalProperties": False,
    }
    return body


def input_tag(html: str, name: str) -> str:
    found = re.search(rf'<(?:input|textarea)[^>]*name="{re.escape(name)}"[^>]*>[^<]*', html)
    assert found, name
    return found.group(0)


async def test_run_form_secrets_are_password_inputs_never_sent_back(
    browser, client, workspace, api
):
    connector = await install(client, workspace, secret_run_connector(api))
    csrf = await sign_in(browser, workspace.owner)
    form = await browser.get(f"/connectors/{connector['id']}/run", headers=hx(target="modal"))
    for name in ("input.password", "input.nested.otp"):
        tag = input_tag(form.text, name)
        assert 'type="password"' in tag and 'autocomplete="off"' in tag, tag
    assert 'type="text"' in input_tag(form.text, "input.nested.label")
    assert "secret-text" in input_tag(form.text, "input.pins")  # typed masked, one per line
    typed = {
        "input.user": "0", "input.password": SECRETS["password"],
        "input.nested.otp": SECRETS["otp"], "input.nested.label": "my-label",
        "input.pins": "\n".join(SECRETS["pins"]),
    }  # fmt: skip
    bad = await browser.post(
        f"/connectors/{connector['id']}/run", data=typed, headers=hx(csrf, "modal")
    )
    assert bad.status_code == 200 and 'data-error-for="input.user"' in bad.text
    assert 'data-error-for="input.password"' in bad.text  # its own error, without its value
    for secret in [SECRETS["password"], SECRETS["otp"], *SECRETS["pins"]]:
        assert secret not in bad.text
    assert 'value="0"' in input_tag(bad.text, "input.user")  # other fields keep what was typed
    assert 'value="my-label"' in input_tag(bad.text, "input.nested.label")
    assert 'value=""' in input_tag(bad.text, "input.password")
    assert input_tag(bad.text, "input.pins").endswith(">")  # an empty textarea
    refused = await client.post(
        f"/api/connectors/{connector['id']}/execute",
        json={"input": {"user": 7, "password": SECRETS["password"]}},
        headers=workspace.owner.headers,
    )
    assert refused.status_code == 400 and "input.password" in refused.text
    assert SECRETS["password"] not in refused.text  # the API's error map does not quote it


async def test_viewers_see_history_but_no_run_button(browser, client, workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    viewer = await workspace.member(Role.viewer)
    csrf = await sign_in(browser, viewer)
    assert 'data-testid="run-button"' not in (await browser.get("/connectors/installed")).text
    refused = await browser.post(
        f"/connectors/{connector['id']}/run", data={"input.user": "7"}, headers=hx(csrf, "modal")
    )
    assert refused.status_code == 403


async def test_templates_tab_and_install_flow(browser, workspace):
    csrf = await sign_in(browser, workspace.owner)
    page = await browser.get("/templates?source=official")
    assert page.text.count('data-testid="template-card"') >= 5
    found = await browser.get("/templates?search=stripe", headers=hx(target="template-cards"))
    assert 'data-key="stripe-customers"' in found.text and "github-open-issues" not in found.text
    detail = await browser.get("/templates/github-open-issues")
    assert "install-form" in detail.text and "<code>github</code>" in detail.text
    done = await browser.post(
        "/templates/github-open-issues/install",
        data={"name": "Issues", "base_url": "https://api.github.com"},
        headers=hx(csrf, "main"),
    )
    assert "connectors/installed" in done.headers["HX-Location"]
    assert "github" in done.headers["HX-Trigger"]  # the toast names the credential to add
    again = await browser.post(
        "/templates/github-open-issues/install", data={"name": "Issues"}, headers=hx(csrf, "main")
    )
    assert "already exists" in again.text  # shown on the page, not a bare error


async def test_credentials_page_saves_and_never_shows_the_value(browser, workspace):
    csrf = await sign_in(browser, workspace.owner)
    assert 'data-testid="credential-form"' in (await browser.get("/settings/credentials")).text
    saved = await browser.post(
        "/settings/credentials",
        data={"name": "github", "kind": "bearer", "allowed_hosts": "api.github.com",
              "token": "ghp-page-secret-value"},
        headers=hx(csrf, "credentials"),
    )  # fmt: skip
    assert 'data-name="github"' in saved.text and "ghp-page-secret-value" not in saved.text
    missing = await browser.post(
        "/settings/credentials",
        data={"name": "ci", "kind": "basic", "allowed_hosts": "ci.example.com", "username": "u"},
        headers=hx(csrf, "credentials"),
    )  # fmt: skip
    assert "Required." in missing.text
    member = await workspace.member(Role.member)
    other = httpx.AsyncClient(transport=browser._transport, base_url="http://testserver")
    async with other:
        member_csrf = await sign_in(other, member)
        assert (
            'data-testid="credential-form"' not in (await other.get("/settings/credentials")).text
        )
        refused = await other.post(
            "/settings/credentials", data={"name": "x"}, headers=hx(member_csrf, "credentials")
        )
        assert refused.status_code == 403


async def test_bell_and_notifications_page(browser, client, workspace, api):
    api.json("/v1/login", {"error": "bad password"}, status=401)
    connector = await install(client, workspace, http_connector(api))
    await client.post(
        f"/api/connectors/{connector['id']}/execute?wait=true",
        json={"input": {"user": 7, "password": "pw"}},
        headers=workspace.owner.headers,
    )
    csrf = await sign_in(browser, workspace.owner)
    bell = await browser.get("/notifications/bell", headers=hx(target="bell"))
    assert 'data-testid="unread-count">1<' in bell.text
    page = await browser.get("/notifications")
    assert "the credentials were refused" in page.text and 'data-read="false"' in page.text
    read = await browser.post("/notifications/read-all", headers=hx(csrf, "notification-list"))
    assert 'data-read="true"' in read.text and read.headers["HX-Trigger"] == "notificationsChanged"
    bell = await browser.get("/notifications/bell", headers=hx(target="bell"))
    assert "unread-count" not in bell.text
