"""Live pages and charts in Chromium, as a person sees them: an execution whose steps fill in
without a reload, a sync run that finishes on its page, the same page finishing by polling when
its event stream is refused, and charts on a card and a history page with the right counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web

from tests.conftest import TEST_KEYS, TEST_PLUGINS_DIR
from tests.e2e.conftest import E2E, install_active, open_page, sign_in
from tests.execution.test_endpoints import http_connector, play_api
from tests.fixtures import slow_tap
from tests.fixtures.live_server import LiveServer, live_server

pytestmark = E2E
REFUSAL_LOGS = ("/events", "htmx:sseError", "[object Event]", "net::ERR_FAILED")
TAP_PASSWORD = "tap-pw-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def tap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose catalog has the slow tap (its plugin installed beforehand), whose syncs
    wait at a gate file the test opens."""
    catalog = asyncio.run(
        slow_tap.TAP.installed_catalog(tmp_path_factory, TEST_PLUGINS_DIR, TEST_KEYS)
    )
    env = {
        "CONNECTORHUB_CATALOG_EXTRA_DIR": str(catalog),
        "CONNECTORHUB_PLUGINS_DIR": str(TEST_PLUGINS_DIR),
    }
    with live_server(tmp_path_factory.mktemp("live-ui") / "data", **env) as running:
        yield running


def gated_profile(api) -> asyncio.Event:
    """The connector's second step (`profile`) answers only once the returned event is set."""
    play_api(api)
    opened = asyncio.Event()

    async def profile(request: web.Request) -> web.Response:
        await opened.wait()
        return web.json_response({"name": "Ada"})

    api.route("/v1/users/7", profile)
    return opened


async def start_execution(server: LiveServer, api, name: str) -> str:
    connector = await install_active(server, http_connector(api, name=name))
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        started = await http.post(
            f"/api/connectors/{connector['id']}/execute",
            json={"input": {"user": 7, "password": "pw"}},
        )
        assert started.status_code == 202, started.text
    return started.json()["id"]


def streams_opened(tab) -> list[str]:
    urls: list[str] = []
    tab.page.on("request", lambda r: urls.append(r.url) if r.url.endswith("/events") else None)
    return urls


async def test_execution_steps_fill_in_live_without_a_reload(tab, server, api):
    opened = gated_profile(api)
    page = tab.page
    await sign_in(tab, server)
    execution_id = await start_execution(server, api, f"Live {uuid.uuid4().hex[:6]}")
    streams = streams_opened(tab)
    await page.goto(f"{server.url}/executions/{execution_id}")
    await page.evaluate("window.sameDocument = true")  # gone if the page were reloaded
    # The first step ends and the second starts while the person watches.
    await page.wait_for_selector('[data-testid=step-card][data-status="succeeded"]')
    await page.wait_for_selector('[data-testid=step-card][data-status="running"]')
    assert await page.locator("[data-testid=execution-status]").inner_text() == "running"
    # Followed over the stream (on a busy machine it may open after the page first drew the
    # steps, so it is waited for, not counted at once), before the held step is let go.
    await page.wait_for_selector("[data-stream-open]", state="attached")
    assert await page.locator("[data-stream-open]").count() == 1
    await tab.screenshot("live-execution-running")
    opened.set()
    await page.wait_for_selector('[data-testid=execution-live][data-status="succeeded"]')
    steps = page.locator('[data-testid=step-card][data-status="succeeded"]')
    assert await steps.count() == 2
    assert "profile" in await steps.nth(1).inner_text()
    assert "Ada" in await page.locator("[data-testid=execution-output]").inner_text()
    assert await page.evaluate("window.sameDocument") is True
    assert streams == [f"{server.url}/executions/{execution_id}/events"]
    await tab.screenshot("live-execution-done")
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await tab.screenshot("live-execution-done-390")


async def test_a_refused_stream_still_finishes_by_polling(tab, server, api):
    opened = gated_profile(api)
    page = tab.page
    await sign_in(tab, server)
    execution_id = await start_execution(server, api, f"Polled {uuid.uuid4().hex[:6]}")
    refused: list[str] = []

    async def refuse(route) -> None:
        refused.append(route.request.url)
        await route.abort()

    await page.route("**/events", refuse)
    await page.goto(f"{server.url}/executions/{execution_id}")
    await page.evaluate("window.sameDocument = true")
    await page.wait_for_selector('[data-testid=step-card][data-status="running"]')
    opened.set()
    await page.wait_for_selector('[data-testid=execution-live][data-status="succeeded"]')
    assert await page.locator('[data-testid=step-card][data-status="succeeded"]').count() == 2
    assert await page.evaluate("window.sameDocument") is True
    assert refused and await page.locator("[data-stream-open]").count() == 0
    # Finished, the page stops asking for the stream; what each refusal logged (the failed
    # request, htmx's sseError) is this test's own doing.
    await page.wait_for_selector("[sse-connect]", state="detached")
    expected = [p for p in tab.problems if any(m in p for m in REFUSAL_LOGS)]
    assert expected
    tab.problems[:] = [p for p in tab.problems if p not in expected]


async def test_the_sync_run_page_finishes_live(tab, tap_server, tmp_path):
    gate = tmp_path / "gate"
    async with httpx.AsyncClient(base_url=tap_server.url, headers=tap_server.headers) as http:
        created = await http.post("/api/connectors", json={
            "catalog_key": slow_tap.CATALOG_KEY, "name": f"Orders {uuid.uuid4().hex[:6]}",
            "config": {"rows": 3, "gate": str(gate)},
            "auth": {"username": "reader", "password": TAP_PASSWORD},
        })  # fmt: skip
        assert created.status_code == 201, created.text
        connector_id = created.json()["id"]
        tested = await http.post(f"/api/connectors/{connector_id}/test", timeout=120)
        assert tested.status_code == 200 and tested.json()["ok"], tested.text
        picked = await http.put(f"/api/connectors/{connector_id}/streams", json={
            "streams": [{"name": slow_tap.STREAM, "replication_method": "FULL_TABLE"}]
        })  # fmt: skip
        assert picked.status_code == 200, picked.text
        started = await http.post(f"/api/connectors/{connector_id}/sync")
        assert started.status_code == 202, started.text
    page = tab.page
    await sign_in(tab, tap_server)
    await page.goto(f"{tap_server.url}/syncs/{started.json()['id']}")
    await page.evaluate("window.sameDocument = true")
    cell = f'[data-stream="{slow_tap.STREAM}"] [data-testid=stream-rows]'
    rows = page.locator(cell)
    await page.wait_for_selector('[data-testid=sync-live][data-status="running"]')
    await page.wait_for_function(  # queried each time: the stream swaps the cell in
        "cell => document.querySelector(cell)?.textContent.trim() === '1'", arg=cell
    )  # the first row, held at the gate
    await page.wait_for_selector("[data-stream-open]", state="attached")  # may open after it
    assert await page.locator("[data-stream-open]").count() == 1
    await tab.screenshot("live-sync-running")
    gate.touch()
    await page.wait_for_selector('[data-testid=sync-live][data-status="succeeded"]')
    assert await rows.inner_text() == "3"
    assert await page.locator("[data-testid=sync-total]").inner_text() == "3 rows"
    assert await page.evaluate("window.sameDocument") is True
    assert TAP_PASSWORD not in await page.content()
    await tab.screenshot("live-sync-done")
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await tab.screenshot("live-sync-done-390")


async def test_charts_on_the_card_and_the_history_page(browser, tab, server, api):
    play_api(api)
    api.json("/v1/users/8", {"error": "gone"}, status=404)
    name = f"Charted {uuid.uuid4().hex[:6]}"
    connector = await install_active(server, http_connector(api, name=name))
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        for user in (7, 7, 8):
            done = await http.post(
                f"/api/connectors/{connector['id']}/execute", params={"wait": "true"},
                json={"input": {"user": user, "password": "pw"}}, timeout=60,
            )  # fmt: skip
            assert done.json()["status"] in ("succeeded", "failed"), done.text
    counts = "3 runs · 2 succeeded · 1 failed"
    page = tab.page
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/installed?search={name}")
    card = page.locator(f'[data-testid=installed-card][data-name="{name}"]')
    chart = card.locator("[data-testid=run-chart]")
    assert await chart.locator("[data-testid=chart-caption]").inner_text() == counts
    assert await chart.get_attribute("data-runs") == "3"
    assert await chart.locator("svg rect").count() == 3
    assert await chart.locator("svg").get_attribute("role") == "img"
    assert await chart.locator("svg > title").text_content() == f"Runs of {name}: {counts}"
    box = await chart.locator("svg").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 30  # drawn, not collapsed
    await tab.screenshot("live-card-chart")

    # Deactivated, the card is drawn alone again: it fetches its chart.
    await card.locator("text=Deactivate").click()
    await page.wait_for_selector(
        f'[data-testid=installed-card][data-name="{name}"][data-status="inactive"]'
    )
    assert await chart.locator("[data-testid=chart-caption]").inner_text() == counts

    await card.locator("text=History").click()
    await page.wait_for_url("**/executions?connector_id=*")
    history = page.locator("[data-testid=history-chart] [data-testid=run-chart]")
    assert await history.locator("[data-testid=chart-caption]").inner_text() == counts
    assert await history.locator('rect[data-bar="failed"]').count() == 1
    assert await history.locator('rect[data-bar="succeeded"]').count() == 2
    await tab.screenshot("live-history-chart")

    await page.goto(f"{server.url}/executions")
    per_day = page.locator("[data-testid=history-chart] [data-testid=chart-caption]")
    assert "in the last 30 days" in await per_day.inner_text()
    await tab.screenshot("live-executions-per-day")

    phone = await open_page(browser, width=390, height=844)
    try:
        await sign_in(phone, server)
        await phone.page.goto(f"{server.url}/connectors/installed?search={name}")
        small = phone.page.locator(f'[data-testid=installed-card][data-name="{name}"] svg')
        box = await small.bounding_box()
        assert box and box["width"] <= 390 and box["height"] > 30
        await phone.screenshot("live-card-chart-390")
        await phone.page.goto(f"{server.url}/executions?connector_id={connector['id']}")
        await phone.page.wait_for_selector("[data-testid=history-chart] svg")
        await phone.screenshot("live-history-chart-390")
        width = await phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing runs off a phone's screen
        assert phone.problems == []
    finally:
        await phone.page.context.close()
