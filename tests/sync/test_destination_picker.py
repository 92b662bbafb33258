"""The destination picker: the workspace's default (the built-in warehouse or an installed Singer
target) and a source's own pick, through the API and the pages; rights, another workspace's
objects, and what a sync will load into."""

from __future__ import annotations

import uuid

import pytest

from connectorhub.connector.repository import ConnectorRepository
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import destinations
from connectorhub.tenant.models import Role
from tests.fixtures.browser_session import hx
from tests.fixtures.factories import make_workspace

pytestmark = pytest.mark.both_backends


async def _connector(client, ws, key: str, name: str, config: dict, auth: dict | None = None):
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": key, "name": name, "config": config, "auth": auth or {}},
        headers=ws.owner.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()


async def _files(client, ws, name: str = "Files"):
    return await _connector(client, ws, "target-jsonl", name, {"destination_path": "/tmp/x"})


async def _source(client, ws):
    return await _connector(
        client, ws, "postgres", "Shop", {"host": "db.example", "database": "shop"},
        {"username": "reader", "password": "pw-source"},
    )  # fmt: skip


async def test_a_target_connector_config_is_checked_and_its_secret_sealed(client, workspace):
    bad = await client.post(
        "/api/connectors",
        json={"catalog_key": "target-postgres", "name": "PG", "config": {"port": 0},
              "auth": {"username": "u", "password": "target-pw"}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert bad.status_code == 400, bad.text
    assert "config.port" in bad.json()["errors"]
    good = await _connector(
        client, workspace, "target-postgres", "PG", {"host": "h", "database": "d"},
        {"username": "u", "password": "target-pw"},
    )  # fmt: skip
    assert good["kind"] == "target" and good["auth"]["password"] == "********"
    assert "target-pw" not in str(good)


async def test_workspace_default_and_a_sources_own_pick(client, workspace, hub):
    headers = workspace.owner.headers
    source, files, other = (
        await _source(client, workspace), await _files(client, workspace),
        await _files(client, workspace, "Other files"),
    )  # fmt: skip
    shown = (await client.get("/api/destination", headers=headers)).json()
    assert shown == {"destination_id": None, "effective_id": None, "effective_name": "warehouse"}

    picked = await client.put("/api/destination", json={"destination_id": files["id"]},
                              headers=headers)  # fmt: skip
    assert picked.json()["effective_name"] == "Files"
    follows = await client.get(f"/api/connectors/{source['id']}/destination", headers=headers)
    assert follows.json() == {"destination_id": None, "effective_id": files["id"],
                              "effective_name": "Files"}  # fmt: skip
    assert (await client.get(f"/api/installed/{files['id']}", headers=headers)).json()[
        "default_destination"
    ]

    own = await client.put(f"/api/connectors/{source['id']}/destination",
                           json={"destination_id": other["id"]}, headers=headers)  # fmt: skip
    assert own.json()["effective_name"] == "Other files"
    # Switching the workspace's default leaves one flagged target.
    await client.put("/api/destination", json={"destination_id": other["id"]}, headers=headers)
    assert not (await client.get(f"/api/installed/{files['id']}", headers=headers)).json()[
        "default_destination"
    ]
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        row = await ConnectorRepository(scope).get(uuid.UUID(source["id"]))
        target = await destinations.target_for(scope, hub.box, row)
        assert target is not None and target.name == "Other files"
        assert target.config == {"destination_path": "/tmp/x"}

    # A deleted target: the source follows the workspace again, which is back to the warehouse.
    assert (await client.delete(f"/api/connectors/{other['id']}", headers=headers)).status_code in (
        200, 204,
    )  # fmt: skip
    after = await client.get(f"/api/connectors/{source['id']}/destination", headers=headers)
    assert after.json() == {"destination_id": None, "effective_id": None,
                            "effective_name": "warehouse"}  # fmt: skip


async def test_only_targets_of_this_workspace_and_only_admins(client, workspace, hub):
    headers = workspace.owner.headers
    source, files = await _source(client, workspace), await _files(client, workspace)
    stranger = await make_workspace(hub)
    theirs = await _files(client, stranger, "Theirs")
    assert (await client.put("/api/destination", json={"destination_id": theirs["id"]},
                             headers=headers)).status_code == 404  # fmt: skip
    assert (await client.put("/api/destination", json={"destination_id": source["id"]},
                             headers=headers)).status_code == 400  # fmt: skip
    assert (await client.put(f"/api/connectors/{files['id']}/destination",
                             json={"destination_id": None}, headers=headers)).status_code == 400  # fmt: skip
    assert (await client.get(f"/api/connectors/{source['id']}/destination",
                             headers=stranger.owner.headers)).status_code == 404  # fmt: skip
    member = await workspace.member(Role.member)
    refused = await client.put(
        "/api/destination", json={"destination_id": files["id"]}, headers=member.headers
    )
    assert refused.status_code == 403


async def test_the_settings_page_and_the_source_modal_pick_destinations(
    browser, owner_csrf, client, workspace
):
    source, files = await _source(client, workspace), await _files(client, workspace)
    page = await browser.get("/settings/destination")
    assert page.status_code == 200 and "Built-in warehouse" in page.text and "Files" in page.text
    saved = await browser.post(
        "/settings/destination", data={"destination_id": files["id"]},
        headers=hx(owner_csrf, "main"),
    )  # fmt: skip
    assert saved.status_code == 200 and "Files" in saved.headers.get("HX-Trigger", ""), saved.text
    shown = (await client.get("/api/destination", headers=workspace.owner.headers)).json()
    assert shown["effective_id"] == files["id"]

    modal = await browser.get(f"/connectors/{source['id']}/destination", headers=hx(owner_csrf))
    assert modal.status_code == 200 and "destination (Files)" in modal.text
    picked = await browser.post(
        f"/connectors/{source['id']}/destination", data={"destination_id": ""},
        headers=hx(owner_csrf, "modal"),
    )  # fmt: skip
    assert picked.status_code == 200 and "Files" in picked.headers.get("HX-Trigger", "")
    bad = await browser.post(
        f"/connectors/{source['id']}/destination", data={"destination_id": "not-an-id"},
        headers=hx(owner_csrf, "modal"),
    )  # fmt: skip
    assert bad.status_code == 200 and "Pick one of the listed destinations." in bad.text
