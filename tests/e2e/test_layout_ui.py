"""What a new user sees of the frame: the top bar at a laptop's and a phone's width, the link of
the page you are on (also after an HTMX swap), and a run's page and toast."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from aiohttp import web

from tests.e2e.conftest import E2E, install_active, open_page, sign_in

pytestmark = E2E

MAIN_LINKS = ["Connectors", "Templates", "Executions", "Syncs", "Publications", "Settings"]


async def nav_link(page, label: str):
    return page.locator("[data-testid=main-nav] .nav-link", has_text=label)


async def test_the_top_bar_is_one_row_at_1280_and_a_menu_at_390(browser, server):
    wide = await open_page(browser, width=1280)
    await sign_in(wide, server)
    page = wide.page
    header = await page.locator("header.navbar").bounding_box()
    brand = await page.locator(".navbar-brand").bounding_box()
    assert header["height"] < 80  # one row (two rows of links were 135 px)
    for label in MAIN_LINKS:
        box = await (await nav_link(page, label)).bounding_box()
        assert box is not None, label
        assert abs((box["y"] + box["height"] / 2) - (brand["y"] + brand["height"] / 2)) < 8, label
    user = await page.locator("[data-testid=user-menu]").bounding_box()
    assert user["x"] + user["width"] <= 1280 and abs(user["y"] - brand["y"]) < 20
    assert not await page.locator("[data-testid=nav-toggler]").is_visible()
    await page.click("[data-testid=user-menu]")
    assert server.email in await page.locator("[data-testid=whoami]").inner_text()
    await wide.screenshot("top-bar-1280")
    await wide.page.context.close()
    assert wide.problems == []

    narrow = await open_page(browser, width=390, height=844)
    await sign_in(narrow, server)
    page = narrow.page
    assert not await (await nav_link(page, "Templates")).is_visible()  # folded into the menu
    toggler = page.locator("[data-testid=nav-toggler]")
    toggler_box = await toggler.bounding_box()
    assert toggler_box["x"] >= 0 and toggler_box["y"] < 60
    user = await page.locator("[data-testid=user-menu]").bounding_box()
    assert user["x"] + user["width"] <= 390 and user["y"] < 60  # same row as the toggler
    await toggler.click()
    await (await nav_link(page, "Templates")).wait_for(state="visible")
    await narrow.screenshot("top-bar-390-open")
    await (await nav_link(page, "Settings")).click()
    await page.locator("[data-testid=main-nav] .dropdown-item", has_text="Members").click()
    await page.wait_for_url("**/settings/members")
    assert await (await nav_link(page, "Settings")).get_attribute("class") and "active" in (
        await (await nav_link(page, "Settings")).get_attribute("class")
    )
    for label in ("Members", "Credentials"):
        box = await page.get_by_text(label, exact=True).first.bounding_box()
        assert box is None or box["x"] + box["width"] <= 390
    await narrow.page.context.close()
    assert narrow.problems == []


async def test_a_run_page_names_its_connector_and_its_toast_goes_when_the_run_ends(
    tab, server, api
):
    answer = asyncio.Event()

    async def held(request):
        await asyncio.wait_for(answer.wait(), timeout=30)  # released by the test below
        return web.json_response({"ok": True})

    api.route("/v1/held", held)
    name = f"Held {uuid.uuid4().hex[:6]}"
    body = {
        "catalog_key": "http", "name": name, "config": {"base_url": f"{api.url}/v1"},
        "definition": {
            "input_schema": {"type": "object", "properties": {}},
            "steps": [{"name": "wait", "url": "/held"}],
        },
    }  # fmt: skip
    await install_active(server, body)
    page = tab.page
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/installed")
    await page.locator(
        f'[data-testid=installed-card][data-name="{name}"] >> [data-testid=run-button]'
    ).click()
    await page.click("[data-testid=run-form] >> button[type=submit]")
    await page.wait_for_url("**/executions/*")
    toast = page.locator("#toasts .alert", has_text=f"{name} is running.")
    await toast.wait_for()
    await page.wait_for_selector('[data-testid=execution-live][data-status="running"]')

    # Swapped into #main by HTMX: the bar and the title follow the page.
    executions = await nav_link(page, "Executions")
    assert await executions.get_attribute("aria-current") == "page"
    assert await (await nav_link(page, "Connectors")).get_attribute("aria-current") is None
    assert await page.title() == f"{name} · Execution · ConnectorHub"
    assert await page.locator("[data-testid=execution-title]").inner_text() == name

    answer.set()
    await page.wait_for_selector('[data-testid=execution-live][data-status="succeeded"]')
    await toast.wait_for(state="detached", timeout=2000)  # not its 5 s timer
    live = await page.locator("[data-testid=execution-live]").inner_text()
    assert live.lower().count("attempt") == 1
    await tab.screenshot("execution-finished")


CLIPPED = """() => [...document.querySelectorAll('.badge, .btn')]
  .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.textContent.trim())"""


async def test_badges_and_buttons_never_clip_and_filters_sit_beside_headings(browser, server):
    name = f"Company blog with a rather long name {uuid.uuid4().hex[:4]}"
    body = {"catalog_key": "wordpress", "name": name,
            "config": {"base_url": "https://blog.example.com", "site_label": "Our blog"}}  # fmt: skip
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        assert (await http.post("/api/connectors", json=body)).status_code == 201
    for width in (1280, 390):
        tab = await open_page(browser, width=width)
        await sign_in(tab, server)
        page = tab.page
        for path in ("/connectors/installed", "/settings/members", "/executions", "/syncs",
                     "/publications"):  # fmt: skip
            await page.goto(server.url + path)
            assert await page.evaluate(CLIPPED) == [], (width, path)
            if path in ("/executions", "/syncs", "/publications"):
                title = await page.locator("h1.page-title").bounding_box()
                select = await page.locator("#status-filter").bounding_box()
                assert select["x"] > title["x"] + title["width"], (width, path)  # beside, not under
                assert select["y"] < title["y"] + title["height"], (width, path)
        await tab.screenshot(f"publications-{width}")
        await page.context.close()
        assert tab.problems == []
