"""The stream picker as a person sees it: a database's own schemas folded away, and the key asked
for only when a stream is read incrementally. The picker's HTML with the app's script, no tap."""

from __future__ import annotations

from types import SimpleNamespace

from connectorhub.sync.schemas import StreamInfo
from connectorhub.web.templating import STATIC_DIR, templates
from tests.e2e.conftest import E2E, open_page

pytestmark = E2E


def picker_html() -> str:
    streams = [
        StreamInfo(name="public-orders", key_properties=["id"], replication_keys=["updated_at"],
                   columns=["id", "updated_at"]),
        StreamInfo(name="public-users", key_properties=["id"], replication_keys=["id"],
                   columns=["id"], selected=True, replication_method="INCREMENTAL",
                   replication_key="id"),
        StreamInfo(name="information_schema-tables", key_properties=[], replication_keys=[],
                   columns=["table_name"]),
        StreamInfo(name="pg_catalog-pg_class", key_properties=[], replication_keys=[],
                   columns=["oid"]),
    ]  # fmt: skip
    form = templates.env.get_template("sync/_picker.html").render(
        c=SimpleNamespace(id="c1"), streams=streams, errors={}, failure=None, url=lambda p: p
    )
    return f"<!doctype html><html><body>{form}</body></html>"


async def test_system_schemas_are_folded_and_the_key_follows_the_method(browser):
    tab = await open_page(browser, width=390, height=844)
    page = tab.page
    await page.set_content(picker_html())
    for css in ("vendor/tabler/tabler.min.css", "app/app.css"):
        await page.add_style_tag(path=str(STATIC_DIR / css))
    await page.add_script_tag(path=str(STATIC_DIR / "app" / "app.js"))

    def row(name: str):
        return page.locator(f'[data-testid=stream-row][data-stream="{name}"]')

    assert await row("public-orders").is_visible() and await row("public-users").is_visible()
    assert not await row("information_schema-tables").is_visible()
    assert not await row("pg_catalog-pg_class").is_visible()
    await page.get_by_text("Show system schemas").click()
    assert await row("information_schema-tables").is_visible()
    assert await row("pg_catalog-pg_class").is_visible()
    await page.get_by_text("Show system schemas").click()
    assert not await row("pg_catalog-pg_class").is_visible()

    # Full table: no key to pick; Incremental: the key appears, inside the row's box.
    orders_key = row("public-orders").locator("[data-testid=replication-key]")
    assert not await orders_key.is_visible()
    assert await row("public-users").locator("[data-testid=replication-key]").is_visible()
    await (
        row("public-orders")
        .locator("select[name='method:public-orders']")
        .select_option("INCREMENTAL")
    )
    assert await orders_key.is_visible()
    key_box, row_box = await orders_key.bounding_box(), await row("public-orders").bounding_box()
    assert key_box["x"] + key_box["width"] <= row_box["x"] + row_box["width"]
    await tab.screenshot("stream-picker-390")
    await page.context.close()
    assert tab.problems == []
