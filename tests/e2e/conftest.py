"""End-to-end: a real `connectorhub serve` and Debian's Chromium driven by Playwright.

Never a browser download: the launch names /usr/bin/chromium. Under CI=true a missing Chromium or
Playwright is a failure; locally those tests skip."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_PLUGINS_DIR
from tests.fixtures.database import missing_service
from tests.fixtures.live_server import CLI, LiveServer, hub_env, live_server

CHROMIUM = "/usr/bin/chromium"
# Every end-to-end module: Chromium, slow, and on one xdist worker (one server, one browser).
E2E = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("e2e")]
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts" / "screenshots"
# Chromium's own background traffic is refused by this closed network: keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
]  # fmt: skip


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Loopback allowed: the flows play third-party APIs on a local server. Taps are shared with
    # the other tests' plugin directory (installed once per machine).
    env = {
        "CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
        "CONNECTORHUB_PLUGINS_DIR": str(TEST_PLUGINS_DIR),
    }
    with live_server(tmp_path_factory.mktemp("e2e") / "data", **env) as running:
        yield running


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        missing_service("Chromium (/usr/bin/chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing_service("Playwright for Python")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@dataclass
class Watched:
    page: object
    problems: list[str] = field(default_factory=list)

    async def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


async def open_page(browser, width: int = 1280, height: int = 900) -> Watched:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    watched = Watched(page=page)
    page.on(
        "console",
        lambda m: (
            watched.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: watched.problems.append(f"page error: {e}"))
    # A request the page itself abandons by navigating away (the bell's poll, say) is not a fault.
    page.on(
        "requestfailed",
        lambda r: (
            None
            if r.failure == "net::ERR_ABORTED"
            else watched.problems.append(f"request failed: {r.url} ({r.failure})")
        ),
    )
    page.on("dialog", lambda d: d.accept())
    return watched


@pytest.fixture
async def tab(browser) -> AsyncIterator[Watched]:
    """A fresh browser context; the test fails on any console error, page error or failed request."""
    watched = await open_page(browser)
    yield watched
    await watched.page.context.close()  # type: ignore[attr-defined]
    assert watched.problems == []


def add_user(server: LiveServer, email: str, role: str, password: str = "e2e password 123") -> str:
    result = subprocess.run(
        [*CLI, "users", "create", email, "--workspace", server.workspace, "--role", role, "--password-stdin"],
        env=hub_env(server.data_dir), input=password + "\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return password


async def sign_in(
    tab: Watched, server: LiveServer, email: str | None = None, password: str | None = None
) -> None:
    page = tab.page
    await page.goto(f"{server.url}/login")  # type: ignore[attr-defined]
    await page.fill("#email", email or server.email)  # type: ignore[attr-defined]
    await page.fill("#password", password or server.password)  # type: ignore[attr-defined]
    await page.click("button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_url("**/connectors/catalog")  # type: ignore[attr-defined]


async def install_active(server: LiveServer, body: dict) -> dict:
    """Install a connector through the API and activate it; returns it as created."""
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        created = await http.post("/api/connectors", json=body)
        assert created.status_code == 201, created.text
        active = await http.patch(
            f"/api/connectors/{created.json()['id']}", json={"status": "active"}
        )
        assert active.status_code == 200, active.text
    return created.json()
