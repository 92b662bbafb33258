"""A meltano.yml imported in Chromium: from the Connectors header to the upload, a preview that
asks for the values the file reads from the environment, the import, and the new card."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import E2E, sign_in
from tests.meltano.test_endpoints import PROJECT

pytestmark = E2E


async def test_upload_preview_and_import_a_meltano_project(tab, server, tmp_path):
    page = tab.page
    name = f"tap-shop-{uuid.uuid4().hex[:6]}"
    project = tmp_path / "meltano.yml"
    project.write_text(
        PROJECT.replace("- name: tap-postgres", f"- name: {name}").replace(
            "extractor: tap-postgres", f"extractor: {name}"
        )
    )
    await sign_in(tab, server)
    await page.goto(f"{server.url}/connectors/installed")
    await page.click("[data-testid=meltano-link]")
    await page.set_input_files("#meltano-file", str(project))
    await page.click("[data-testid=meltano-upload] button[type=submit]")
    item = page.locator("[data-testid=meltano-item]")
    await item.wait_for()
    assert name in await item.inner_text() and "will be created" in await item.inner_text()
    secrets = page.locator("[data-testid=meltano-secret]")
    assert await secrets.count() == 3
    await page.fill("#secret-SHOP_PORT", "5432")
    await page.fill("#secret-SHOP_USER", "reader")
    await page.fill("#secret-SHOP_PASSWORD", "pw-from-the-browser")
    await tab.screenshot("meltano-preview")
    await page.click("[data-testid=meltano-import]")
    await page.wait_for_selector("[data-testid=meltano-done]")
    await page.wait_for_selector(f"#toasts >> text=Imported {name}")
    await page.goto(f"{server.url}/connectors/installed")
    await page.locator(f"[data-testid=installed-card][data-name='{name}']").wait_for()
