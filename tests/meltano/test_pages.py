"""The Meltano page: upload, a preview that creates nothing and asks for the values the file
reads from the environment, then the import; a broken file shows its line."""

from __future__ import annotations

import re

from connectorhub.kit.sealing import open_secrets
from tests.fixtures.browser_session import hx
from tests.meltano.test_endpoints import PASSWORD, PROJECT, USER, connectors, stored


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


async def test_an_imported_taps_own_secrets_are_edited_like_any_others(
    browser, owner_csrf, client, hub, workspace, monkeypatch
):
    monkeypatch.setattr(hub.settings, "meltano_custom_taps", True)
    text = """\
plugins:
  extractors:
  - name: tap-gitlab
    pip_url: tap-gitlab==1.0
    config:
      projects: meltano/meltano
      private_token: $GITLAB_TOKEN
"""
    imported = await client.post(
        "/api/meltano/import", files={"file": ("meltano.yml", text.encode())},
        data={"secret.GITLAB_TOKEN": "glpat-old"}, headers=workspace.owner.headers,
    )  # fmt: skip
    assert imported.status_code == 200, imported.text
    [connector] = await connectors(client, workspace)
    form = await browser.get(f"/connectors/{connector['id']}/edit", headers=hx(owner_csrf))
    assert form.status_code == 200 and "private_token" in form.text
    assert "glpat-old" not in form.text
    saved = await browser.post(
        f"/connectors/{connector['id']}/edit",
        data={"name": "tap-gitlab", "tags": "meltano", "auth.private_token": "glpat-new"},
        headers=hx(owner_csrf),
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    row = await stored(hub, workspace, "tap-gitlab")
    assert row.config == {"projects": "meltano/meltano"}  # settings the form cannot show stay
    opened = open_secrets(
        hub.box, tenant_id=workspace.slug, table="connectors", row_id=row.id, stored=row.auth
    )
    assert opened == {"private_token": "glpat-new"}
