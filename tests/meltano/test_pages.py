"""The Meltano page: upload, a preview that creates nothing and asks for the values the file
reads from the environment, then the import; a broken file shows its line."""

from __future__ import annotations

import re

from tests.fixtures.browser_session import hx
from tests.meltano.test_endpoints import PASSWORD, PROJECT, USER, connectors


async def test_preview_asks_for_values_then_the_import_seals_them(
    browser, owner_csrf, client, workspace
):
    page = await browser.get("/connectors/installed")
    assert 'href="/connectors/meltano"' in page.text
    assert (await browser.get("/connectors/meltano")).status_code == 200

    preview = await browser.post(
        "/connectors/meltano/preview", files={"file": ("meltano.yml", PROJECT.encode())},
        data={"environment": ""}, headers=hx(owner_csrf),
    )  # fmt: skip
    assert preview.status_code == 200, preview.text
    assert "tap-postgres" in preview.text and "will be created" in preview.text
    asked = re.findall(r'name="secret\.([A-Z_]+)"', preview.text)
    assert asked == ["SHOP_PORT", "SHOP_USER", "SHOP_PASSWORD"]
    assert await connectors(client, workspace) == []

    text = re.search(r'<textarea name="file" hidden>(.*?)</textarea>', preview.text, re.S)
    assert text is not None
    done = await browser.post(
        "/connectors/meltano/import",
        data={"file": PROJECT, "environment": "", "secret.SHOP_PORT": "5432",
              "secret.SHOP_USER": USER, "secret.SHOP_PASSWORD": PASSWORD},
        files={"unused": ("x", b"")}, headers=hx(owner_csrf),
    )  # fmt: skip
    assert done.status_code == 200 and 'data-testid="meltano-done"' in done.text, done.text
    assert "Imported tap-postgres" in done.headers["HX-Trigger"]
    assert PASSWORD not in done.text
    [connector] = await connectors(client, workspace)
    # the catalog calls the user name no secret: it is shown, the password masked
    assert connector["auth"] == {"username": USER, "password": "********"}

    download = await browser.get("/connectors/meltano/export")
    assert download.status_code == 200 and "${SHOP_PASSWORD}" in download.text
    assert PASSWORD not in download.text


async def test_a_broken_file_shows_its_line_and_creates_nothing(
    browser, owner_csrf, client, workspace
):
    broken = PROJECT.replace("    select:\n", "    select: [oops\n")
    preview = await browser.post(
        "/connectors/meltano/preview", files={"file": ("meltano.yml", broken.encode())},
        headers=hx(owner_csrf),
    )  # fmt: skip
    assert preview.status_code == 200
    assert "The file cannot be imported (line 16)" in preview.text
    assert await connectors(client, workspace) == []
