"""The HTTP connector builder in Chromium: a 2-step connector built from scratch against a local
server (placeholders offered, a field error at its field, the JSON tab round trip, a test run
with its steps and extracted values, the JSONPath preview, save + activate, then a run), and an
existing connector's requests edited."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
from aiohttp import web

from tests.e2e.conftest import E2E, install_active, open_page, sign_in

pytestmark = E2E
SHOTS = Path("/tmp/shots-builder")


async def shoot(tab, name: str) -> None:
    await tab.screenshot(f"builder-{name}")
    if SHOTS.parent.exists():
        SHOTS.mkdir(exist_ok=True)
        await tab.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def play(api) -> asyncio.Event:
    """The third party; its second call waits for the returned event (the test sees the first
    step done while the second runs)."""
    release = asyncio.Event()

    async def profile(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"name": "Ada", "team": {"name": "core"}})

    api.json("/v1/login", {"token": "sess-e2e-9999"})
    api.route("/v1/users/7", profile)
    return release


async def test_build_a_two_step_connector_from_scratch(tab, server, api):
    release = play(api)
    page = tab.page
    name = f"Built {uuid.uuid4().hex[:6]}"
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/build")
    await page.fill("#b-name", name)
    await page.fill("#b-base-url", f"{api.url}/v1")
    await page.click("[data-pane=basics] >> text=Add header")
    await page.fill("[data-pane=basics] [aria-label=Header]", "X-Team")
    await page.fill('[data-pane=basics] [data-path="config.default_headers.X-Team"]', "core")
    await shoot(tab, "basics")

    await page.click("[data-testid=tab-io]")
    await page.click("[data-testid=add-input]")
    row = page.locator("[data-testid=input-row]").first
    await row.locator("[aria-label='Input name']").fill("user")
    await row.locator("select").select_option("integer")
    await row.locator("[aria-label='Required user']").check()

    await page.click("[data-testid=tab-requests]")
    first = page.locator("[data-testid=step-card]").nth(0)
    await first.locator('[data-path="definition.steps[0].name"]').fill("login")
    await first.locator('[data-path="definition.steps[0].method"]').select_option("POST")
    await first.locator('[data-path="definition.steps[0].url"]').fill("/login")
    await first.locator('[data-path="definition.steps[0].body"]').fill('{"user": "{{input.user}}"}')
    await page.click("[data-testid=add-step]")
    second = page.locator("[data-testid=step-card]").nth(1)
    await second.locator('[data-path="definition.steps[1].name"]').fill("profile")
    url = second.locator('[data-path="definition.steps[1].url"]')
    await url.fill("/users/")
    await url.press("End")
    await url.type("{{inp")
    await page.locator("[data-testid=suggestion]", has_text="{{input.user}}").click()
    assert await url.input_value() == "/users/{{input.user}}"
    await second.locator("[aria-label='Auth of step 2']").select_option("bearer")
    await second.locator('[data-path="definition.steps[1].auth.token"]').fill(
        "{{steps.login.session_token}}"
    )

    await page.click("[data-testid=tab-mapping]")
    cards = page.locator("[data-testid=mapping-card]")
    for index, (field, path) in enumerate([("session_token", "$.token"), ("name", "$.name")]):
        await cards.nth(index).locator("text=Add field").click()
        await cards.nth(index).locator("[aria-label='Field name']").fill(field)
        await cards.nth(index).locator(f"[aria-label='JSONPath of {field}']").fill(path)

    # A placeholder naming no earlier step: the API's error, at that field, with its path.
    await page.click("[data-testid=tab-requests]")
    await url.fill("/users/{{steps.nobody.id}}")
    await page.click("[data-testid=tab-mapping]")
    await page.click("[data-testid=tab-requests]")
    error = page.locator('[data-error-for="definition.steps[1].url"]')
    await error.wait_for()
    assert "'nobody' is not an earlier step" in await error.inner_text()
    assert await page.locator("[data-testid=tab-requests] [data-error-count]").inner_text() == "1"
    await shoot(tab, "field-error")
    await url.fill("/users/{{input.user}}")

    # The JSON tab shows the same work; an edit there carries back to the other tabs.
    await page.click("[data-testid=tab-json]")
    editor = page.locator("[data-testid=json-editor]")
    definition = json.loads(await editor.input_value())
    assert [s["name"] for s in definition["steps"]] == ["login", "profile"]
    assert definition["steps"][1]["extract"] == {"name": "$.name"}
    definition["steps"][0]["timeout_seconds"] = 12
    definition["output"] = {"name": "{{steps.profile.name}}"}
    await editor.fill(json.dumps(definition))
    await shoot(tab, "json")
    await page.click("[data-testid=tab-requests]")
    assert (
        await first.locator('[data-path="definition.steps[0].timeout_seconds"]').input_value()
        == "12"
    )
    assert await url.input_value() == "/users/{{input.user}}"
    await page.click("[data-testid=tab-io]")
    assert await page.locator('[data-path="definition.output.name"]').input_value() == (
        "{{steps.profile.name}}"
    )

    await page.click("[data-testid=tab-test]")
    await page.fill('[data-path="input.user"]', "7")
    await page.click("[data-testid=run-test]")
    # Steps appear as they finish: the first is done while the second still waits.
    await page.locator('[data-testid=test-step][data-status="running"]').wait_for()
    assert await page.locator('[data-testid=test-step][data-status="succeeded"]').count() == 1
    release.set()
    outcome = page.locator('[data-testid=test-outcome][data-status="succeeded"]')
    await outcome.wait_for(timeout=20000)
    steps = page.locator("[data-testid=test-step]")
    assert await steps.count() == 2
    assert '"name":"Ada"' in await steps.nth(1).locator("[data-testid=extracted]").inner_text()
    assert "[redacted]" in await steps.nth(0).inner_text()
    assert "sess-e2e-9999" not in await page.content()
    assert "Ada" in await page.locator("[data-testid=test-output]").inner_text()
    await shoot(tab, "test-run")
    login, profile = api.hits
    assert (login.method, login.path, json.loads(login.body)) == ("POST", "/v1/login", {"user": 7})
    assert login.headers["X-Team"] == "core"
    assert (profile.path, profile.headers["Authorization"]) == (
        "/v1/users/7",
        "Bearer sess-e2e-9999",
    )

    await page.click("[data-testid=tab-mapping]")
    preview = (
        page.locator("[data-testid=mapping-card]").nth(1).locator("[data-testid=jsonpath-preview]")
    )
    await preview.filter(has_text='"Ada"').wait_for()
    await page.locator("[aria-label='JSONPath of name']").fill("$.team.name")
    await preview.filter(has_text='"core"').wait_for()
    await shoot(tab, "mapping-preview")
    await page.locator("[aria-label='JSONPath of name']").fill("$.name")

    await page.click("[data-testid=tab-save]")
    await page.check("[data-testid=activate]")
    await page.click("[data-testid=save]")
    await page.wait_for_url("**/connectors/installed*")
    card = page.locator(f'[data-testid=installed-card][data-name="{name}"]')
    await card.wait_for()
    assert await card.get_attribute("data-status") == "active"
    await card.locator("[data-testid=run-button]").click()
    await page.fill('[name="input.user"]', "7")
    await page.click("[data-testid=run-form] >> button[type=submit]")
    await page.wait_for_selector(
        '[data-testid=execution-live][data-status="succeeded"]', timeout=20000
    )
    assert "Ada" in await page.locator("[data-testid=execution-output]").inner_text()


async def test_edit_an_existing_connectors_requests(tab, server, api, browser):
    api.json("/v2/items", {"items": [{"id": 1, "title": "First"}], "total": 1})
    name = f"Existing {uuid.uuid4().hex[:6]}"
    connector = await install_active(
        server,
        {"catalog_key": "http", "name": name, "config": {"base_url": f"{api.url}/v2"},
         "definition": {"steps": [{"name": "items", "url": "/items",
                                   "extract": {"total": "$.total"}}]}},
    )  # fmt: skip
    page = tab.page
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/installed?search={name}")
    await page.click(f"[aria-label='Edit requests of {name}']")
    await page.wait_for_url(f"**/connectors/{connector['id']}/build")
    assert name in await page.locator("[data-testid=builder-title]").inner_text()
    assert await page.input_value("#b-name") == name
    await page.click("[data-testid=tab-requests]")
    assert await page.input_value('[data-path="definition.steps[0].url"]') == "/items"

    await page.click("[data-testid=tab-test]")
    await page.click("[data-testid=run-test]")
    await page.locator('[data-testid=test-outcome][data-status="succeeded"]').wait_for()
    await shoot(tab, "edit-test-run")
    await page.click("[data-testid=tab-mapping]")
    await page.click("[data-testid=mapping-card] >> text=Add field")
    await page.locator("[aria-label='Field name']").nth(1).fill("first_title")
    await page.locator("[aria-label='JSONPath of first_title']").fill("$.items[0].title")
    preview = page.locator("[data-testid=jsonpath-preview]").nth(1)
    await preview.filter(has_text='"First"').wait_for()
    await page.locator("[aria-label='JSONPath of first_title']").fill("$.items[?")
    await page.click("[data-testid=tab-save]")
    await page.click("[data-testid=save]")
    error = page.locator('[data-error-for="definition.steps[0].extract.first_title"]')
    await page.click("[data-testid=tab-mapping]")
    await error.wait_for()
    assert "not a valid JSONPath" in await error.inner_text()
    await page.locator("[aria-label='JSONPath of first_title']").fill("$.items[0].title")
    await page.click("[data-testid=tab-save]")
    assert await page.is_checked("[data-testid=activate]")  # it is active: stays so
    await page.click("[data-testid=save]")
    await page.wait_for_url("**/connectors/installed*")

    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        saved = (await http.get(f"/api/installed/{connector['id']}")).json()
    assert saved["status"] == "active"
    assert saved["definition"]["steps"][0]["extract"] == {
        "total": "$.total", "first_title": "$.items[0].title",
    }  # fmt: skip

    narrow = await open_page(browser, width=390, height=844)
    try:
        await sign_in(narrow, server)
        await narrow.page.goto(f"{server.url}/connectors/{connector['id']}/build")
        await shoot(narrow, "narrow-basics")
        await narrow.page.click("[data-testid=tab-requests]")
        await shoot(narrow, "narrow-requests")
        await narrow.page.click("[data-testid=tab-test]")
        await narrow.page.click("[data-testid=run-test]")
        await narrow.page.locator("[data-testid=test-outcome]").wait_for()
        await shoot(narrow, "narrow-test-run")
        await narrow.page.click("[data-testid=tab-mapping]")
        await narrow.page.locator("[data-testid=jsonpath-preview]", has_text='"First"').wait_for()
        await shoot(narrow, "narrow-mapping")
        width = await narrow.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        assert narrow.problems == []
    finally:
        await narrow.page.context.close()
