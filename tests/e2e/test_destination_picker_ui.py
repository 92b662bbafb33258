"""The destination picker as a person sees it in Chromium: Settings → Destination picks the
workspace's (a target-jsonl connector, then the built-in warehouse again), a source's Destination
button overrides it (with the built-in warehouse or a target) or follows it, and the card's
Delete of a target in use is refused with a toast naming its use. The controls at a laptop's and
a phone's width, where the line under the source's select names its destination in full. No
sync runs, so the target's virtualenv is never needed.

The live server is shared by every end-to-end module: each test puts the workspace back on the
built-in warehouse and deletes what it installed, so later syncs load where they did."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.conftest import E2E, open_page, sign_in

pytestmark = E2E

REFUSED_409 = (
    "console error: Failed to load resource: the server responded with a status of 409 (Conflict)"
)


@dataclass
class Installed:
    target: dict
    source: dict


async def _install(http: httpx.AsyncClient, body: dict) -> dict:
    created = await http.post("/api/connectors", json=body)
    assert created.status_code == 201, created.text
    return created.json()


@pytest.fixture
async def installed(server, tmp_path) -> AsyncIterator[Installed]:
    """A target-jsonl connector and a PostgreSQL source (never run: nothing is reached)."""
    suffix = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        target = await _install(http, {
            "catalog_key": "target-jsonl", "name": f"Files {suffix}",
            "config": {"destination_path": str(tmp_path / "out")},
        })  # fmt: skip
        source = await _install(http, {
            "catalog_key": "postgres", "name": f"Shop {suffix}",
            "config": {"host": "db.example", "database": "shop"},
            "auth": {"username": "reader", "password": "pw-e2e-source"},
        })  # fmt: skip
        try:
            yield Installed(target, source)
        finally:
            await http.put("/api/destination", json={"destination_id": None})
            await http.put(
                f"/api/connectors/{source['id']}/destination", json={"destination_id": None}
            )
            for connector in (source, target):
                await http.delete(f"/api/connectors/{connector['id']}")
            shown = await http.get("/api/destination")
            assert shown.json()["effective_name"] == "warehouse"


def _card(page, name: str):
    return page.locator(f"[data-testid=installed-card][data-name='{name}']")


async def _picked(page, select: str) -> str:
    """The text of the option a select shows."""
    return (await page.locator(f"{select} option:checked").inner_text()).strip()


async def _toast(page, text: str) -> None:
    await page.locator("#toasts .alert", has_text=text).wait_for()


async def _installed_tab(page, base: str, *names: str) -> None:
    """The Installed tab searched for the test's connectors (their shared suffix)."""
    suffix = names[0].split()[-1]
    await page.goto(f"{base}/connectors/installed?search={quote(suffix)}")
    for name in names:
        await _card(page, name).wait_for()


async def _workspace_pick(page, label: str, toast: str) -> None:
    await page.locator("#workspace-destination").select_option(label=label)
    await page.click("[data-testid=save-destination]")
    await _toast(page, toast)


async def _open_source_modal(page, source: str) -> None:
    await _card(page, source).locator("[data-testid=destination-button]").click()
    await page.locator("[data-testid=source-destination-form]").wait_for()
    assert (await page.locator("#modal-title").inner_text()).strip() == f"Destination of {source}"


async def _source_pick(page, source: str, label: str, toast: str) -> None:
    await _open_source_modal(page, source)
    await page.locator("#source-destination").select_option(label=label)
    await page.click("[data-testid=save-source-destination]")
    await page.locator("#modal .modal").wait_for(state="detached")
    await _toast(page, toast)


async def _inside(page, selector: str, width: int) -> None:
    """Visible, and inside the window's width."""
    control = page.locator(selector)
    assert await control.is_visible(), selector
    box = await control.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)


async def _readable(page, selector: str, width: int) -> str:
    """Inside the window and not cut off; its text."""
    await _inside(page, selector, width)
    control = page.locator(selector)
    assert not await control.evaluate("e => e.scrollWidth > e.clientWidth"), selector
    return " ".join((await control.inner_text()).split())


async def _close_modal(page) -> None:
    await page.locator("#modal [data-close-modal]").first.click()
    await page.locator("#modal .modal").wait_for(state="detached")


async def test_pick_override_follow_and_a_refused_delete_at_1280(browser, server, installed):
    tab = await open_page(browser, width=1280)
    page = tab.page
    target, source = installed.target["name"], installed.source["name"]
    target_option = f"{target} (JSON Lines files)"
    await sign_in(tab, server)

    # Settings → Destination, from the top bar.
    await page.click("[data-testid=settings-menu]")
    await page.locator("#navbar-settings .dropdown-item", has_text="Destination").click()
    await page.wait_for_url("**/settings/destination")
    assert (await page.locator("h1").inner_text()).strip() == "Destination"
    assert (await _picked(page, "#workspace-destination")).startswith("Built-in warehouse (")
    for control in ("#workspace-destination", "[data-testid=save-destination]"):
        await _inside(page, control, 1280)
    await _workspace_pick(page, target_option, f"Sources sync into {target} unless they pick")
    assert await _picked(page, "#workspace-destination") == target_option
    await page.reload()  # saved, not only drawn
    assert await _picked(page, "#workspace-destination") == target_option
    await tab.screenshot("destination-settings-1280")

    # Deleting the workspace's destination is refused, with why; the card stays.
    await _installed_tab(page, server.url, target, source)
    await _card(page, target).get_by_role("button", name=f"Delete {target}").click()
    await _toast(page, "is in use as the workspace's destination")
    toast = (await page.locator("#toasts .alert-danger").last.inner_text()).strip()
    assert toast.startswith(
        f"Target '{target}' is in use as the workspace's destination; pick another destination"
    ), toast
    assert await _card(page, target).is_visible()
    await tab.screenshot("destination-delete-refused-1280")
    assert tab.problems == [REFUSED_409]  # the refusal's status, which Chromium logs
    tab.problems.clear()

    # The source follows the workspace: its modal says where that is.
    await _open_source_modal(page, source)
    assert await _picked(page, "#source-destination") == f"The workspace's destination ({target})"
    await _inside(page, "#source-destination", 1280)
    await _inside(page, "[data-testid=save-source-destination]", 1280)
    lands = f"Syncs land in the workspace's destination, {target} (JSON Lines files)."
    assert await _readable(page, "[data-testid=source-destination-now]", 1280) == lands

    # It picks the built-in warehouse over the workspace's target (the line under the select
    # says so before it is saved), and the target stays the workspace's.
    await page.locator("#source-destination").select_option(value="warehouse")
    now = await _readable(page, "[data-testid=source-destination-now]", 1280)
    assert now.startswith("Syncs land in the built-in warehouse ("), now
    await page.click("[data-testid=save-source-destination]")
    await page.locator("#modal .modal").wait_for(state="detached")
    await _toast(page, f"{source} syncs into the built-in warehouse.")
    await _open_source_modal(page, source)
    assert (await _picked(page, "#source-destination")).startswith("Built-in warehouse (")
    assert await _readable(page, "[data-testid=source-destination-now]", 1280) == now
    await tab.screenshot("destination-source-warehouse-1280")
    await _close_modal(page)
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        picked = await http.get(f"/api/connectors/{installed.source['id']}/destination")
        assert picked.json()["destination"] == "warehouse", picked.text
        assert picked.json()["effective_id"] is None
        assert (await http.get("/api/destination")).json()["effective_name"] == target
    # …and follows the workspace again.
    await _source_pick(
        page, source, f"The workspace's destination ({target})", f"{source} syncs into {target}."
    )

    # The workspace back on the built-in warehouse; the source overrides it with the target…
    await page.goto(f"{server.url}/settings/destination")
    built_in = await page.locator("#workspace-destination option[value='']").inner_text()
    await _workspace_pick(
        page, built_in.strip(), "Sources sync into the built-in warehouse unless they pick"
    )
    assert (await _picked(page, "#workspace-destination")).startswith("Built-in warehouse (")
    await _installed_tab(page, server.url, target, source)
    await _open_source_modal(page, source)
    following = "The workspace's destination (built-in warehouse)"
    assert await _picked(page, "#source-destination") == following
    await page.locator("#modal [data-close-modal]").first.click()
    await page.locator("#modal .modal").wait_for(state="detached")
    await _source_pick(page, source, target_option, f"{source} syncs into {target}.")
    await _open_source_modal(page, source)
    assert await _picked(page, "#source-destination") == target_option
    await tab.screenshot("destination-source-override-1280")
    await page.locator("#modal [data-close-modal]").first.click()
    await page.locator("#modal .modal").wait_for(state="detached")

    # …so the target is still in use, by that source.
    await _card(page, target).get_by_role("button", name=f"Delete {target}").click()
    await _toast(page, f"is in use by sources: {source}")
    assert await _card(page, target).is_visible()
    assert tab.problems == [REFUSED_409]
    tab.problems.clear()

    # …then follows the workspace again, and the target, used by nobody, is deleted.
    await _source_pick(page, source, following, f"{source} syncs into the built-in warehouse.")
    await _open_source_modal(page, source)
    assert await _picked(page, "#source-destination") == following
    await page.locator("#modal [data-close-modal]").first.click()
    await page.locator("#modal .modal").wait_for(state="detached")
    await _card(page, target).get_by_role("button", name=f"Delete {target}").click()
    await _toast(page, f"{target} deleted.")
    await _card(page, target).wait_for(state="detached")
    await page.context.close()
    assert tab.problems == []


async def test_the_pickers_controls_fit_a_phone_at_390(browser, server, installed):
    tab = await open_page(browser, width=390, height=844)
    page = tab.page
    target, source = installed.target["name"], installed.source["name"]
    target_option = f"{target} (JSON Lines files)"
    await sign_in(tab, server)

    # Settings → Destination through the folded menu.
    await page.click("[data-testid=nav-toggler]")
    await page.click("[data-testid=settings-menu]")
    await page.locator("#navbar-settings .dropdown-item", has_text="Destination").click()
    await page.wait_for_url("**/settings/destination")
    for control in ("#workspace-destination", "[data-testid=save-destination]"):
        await _inside(page, control, 390)
    await _workspace_pick(page, target_option, f"Sources sync into {target} unless they pick")
    assert await _picked(page, "#workspace-destination") == target_option
    await tab.screenshot("destination-settings-390")

    await _installed_tab(page, server.url, target, source)
    await _inside(page, f"[data-name='{source}'] [data-testid=destination-button]", 390)
    await _open_source_modal(page, source)
    assert await _picked(page, "#source-destination") == f"The workspace's destination ({target})"
    for control in ("#source-destination", "[data-testid=save-source-destination]"):
        await _inside(page, control, 390)
    # The select's own text is cut off at this width; the line under it names the target in full.
    now = "[data-testid=source-destination-now]"
    assert await _readable(page, now, 390) == (
        f"Syncs land in the workspace's destination, {target} (JSON Lines files)."
    )
    await tab.screenshot("destination-source-modal-390")
    await page.locator("#source-destination").select_option(value="warehouse")
    assert (await _readable(page, now, 390)).startswith("Syncs land in the built-in warehouse (")
    await page.locator("#source-destination").select_option(label=target_option)
    assert await _readable(page, now, 390) == f"Syncs land in {target} (JSON Lines files)."
    await page.click("[data-testid=save-source-destination]")
    await page.locator("#modal .modal").wait_for(state="detached")
    await _toast(page, f"{source} syncs into {target}.")
    await page.context.close()
    assert tab.problems == []
