"""The destination picker: the workspace's default (the built-in warehouse or an installed Singer
target) and a source's own pick, through the API and the pages; rights, another workspace's
objects, and what a sync will load into."""

from __future__ import annotations

import json
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


async def _source_named(client, ws, name: str = "Warehouse copy"):
    return await _connector(
        client, ws, "postgres", name, {"host": "db.example", "database": "copy"},
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
    assert shown == {"destination": "warehouse", "destination_id": None, "effective_id": None,
                     "effective_name": "warehouse"}  # fmt: skip

    picked = await client.put("/api/destination", json={"destination_id": files["id"]},
                              headers=headers)  # fmt: skip
    assert picked.json()["effective_name"] == "Files"
    follows = await client.get(f"/api/connectors/{source['id']}/destination", headers=headers)
    assert follows.json() == {"destination": "workspace", "destination_id": None,
                              "effective_id": files["id"], "effective_name": "Files"}  # fmt: skip
    assert (await client.get(f"/api/installed/{files['id']}", headers=headers)).json()[
        "default_destination"
    ]

    own = await client.put(f"/api/connectors/{source['id']}/destination",
                           json={"destination_id": other["id"]}, headers=headers)  # fmt: skip
    assert own.json()["effective_name"] == "Other files" and own.json()["destination"] == "target"
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

    # A target in use is not deleted (tests below); once nothing picks it, it is, and the
    # workspace is back on the warehouse.
    await client.put(f"/api/connectors/{source['id']}/destination", json={"destination_id": None},
                     headers=headers)  # fmt: skip
    await client.put("/api/destination", json={"destination_id": None}, headers=headers)
    assert (
        await client.delete(f"/api/connectors/{other['id']}", headers=headers)
    ).status_code == 204
    after = await client.get(f"/api/connectors/{source['id']}/destination", headers=headers)
    assert after.json() == {"destination": "workspace", "destination_id": None,
                            "effective_id": None, "effective_name": "warehouse"}  # fmt: skip


async def _audited_fields(client, ws, source: dict) -> list[str]:
    """The fields the source's newest audit event names."""
    listed = await client.get(
        "/api/audit-events", params={"object_id": source["id"]}, headers=ws.owner.headers
    )
    assert listed.status_code == 200, listed.text
    newest = listed.json()["items"][0]
    assert newest["action"] == "connector.updated"
    return newest["fields"]


async def test_a_source_picks_the_built_in_warehouse_over_the_workspaces_target(
    client, workspace, hub
):
    headers = workspace.owner.headers
    source, files, spare = (
        await _source(client, workspace), await _files(client, workspace),
        await _files(client, workspace, "Spare"),
    )  # fmt: skip
    await client.put("/api/destination", json={"destination_id": files["id"]}, headers=headers)
    url = f"/api/connectors/{source['id']}/destination"
    await client.put(url, json={"destination_id": spare["id"]}, headers=headers)

    picked = await client.put(url, json={"destination": "warehouse"}, headers=headers)
    assert picked.status_code == 200, picked.text
    warehouse = {"destination": "warehouse", "destination_id": None, "effective_id": None,
                 "effective_name": "warehouse"}  # fmt: skip
    assert picked.json() == warehouse
    assert (await client.get(url, headers=headers)).json() == warehouse  # saved
    assert await _audited_fields(client, workspace, source) == [
        "destination_id", "destination_warehouse",
    ]  # fmt: skip
    shown = (await client.get(f"/api/installed/{source['id']}", headers=headers)).json()
    assert shown["destination_warehouse"] is True and shown["destination_id"] is None
    # The workspace's destination is still the target; this source's sync loads into the
    # warehouse.
    assert (await client.get("/api/destination", headers=headers)).json()["effective_name"] == (
        "Files"
    )
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        row = await ConnectorRepository(scope).get(uuid.UUID(source["id"]))
        assert await destinations.target_for(scope, hub.box, row) is None

    # The target it picked before is used by nobody now: deleted.
    deleted = await client.delete(f"/api/connectors/{spare['id']}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(url, headers=headers)).json() == warehouse

    # Back to following the workspace, as old clients say it (`destination_id: null`)…
    follows = await client.put(url, json={"destination_id": None}, headers=headers)
    assert follows.json() == {"destination": "workspace", "destination_id": None,
                              "effective_id": files["id"], "effective_name": "Files"}  # fmt: skip
    assert await _audited_fields(client, workspace, source) == ["destination_warehouse"]
    # …and as new ones do; the warehouse again, and a target by `destination: target`.
    await client.put(url, json={"destination": "warehouse"}, headers=headers)
    again = await client.put(url, json={"destination": "workspace"}, headers=headers)
    assert again.json()["destination"] == "workspace" and again.json()["effective_name"] == "Files"
    target = await client.put(
        url, json={"destination": "target", "destination_id": files["id"]}, headers=headers
    )
    assert target.json() == {"destination": "target", "destination_id": files["id"],
                             "effective_id": files["id"], "effective_name": "Files"}  # fmt: skip


async def test_a_destination_pick_that_contradicts_itself_is_refused(client, workspace):
    headers = workspace.owner.headers
    source, files = await _source(client, workspace), await _files(client, workspace)
    url = f"/api/connectors/{source['id']}/destination"
    for body in (
        {"destination": "warehouse", "destination_id": files["id"]},
        {"destination": "workspace", "destination_id": files["id"]},
        {"destination": "target"},
        {"destination": "elsewhere"},
    ):
        refused = await client.put(url, json=body, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
    # The workspace has nothing to follow; `warehouse` is its built-in warehouse.
    assert (await client.put("/api/destination", json={"destination": "workspace"},
                             headers=headers)).status_code == 422  # fmt: skip
    await client.put("/api/destination", json={"destination_id": files["id"]}, headers=headers)
    back = await client.put("/api/destination", json={"destination": "warehouse"}, headers=headers)
    assert back.json() == {"destination": "warehouse", "destination_id": None,
                           "effective_id": None, "effective_name": "warehouse"}  # fmt: skip
    assert (await client.get(url, headers=headers)).json()["destination"] == "workspace"


async def _exists(client, ws, connector: dict) -> bool:
    shown = await client.get(f"/api/installed/{connector['id']}", headers=ws.owner.headers)
    assert shown.status_code in (200, 404), shown.text
    return shown.status_code == 200


async def test_a_target_in_use_is_not_deleted_until_nothing_picks_it(client, workspace):
    headers = workspace.owner.headers
    files, spare = await _files(client, workspace), await _files(client, workspace, "Spare")
    shop = await _source(client, workspace)
    orders = await _source_named(client, workspace, "Orders")
    await client.put("/api/destination", json={"destination_id": files["id"]}, headers=headers)
    for source in (shop, orders):
        await client.put(f"/api/connectors/{source['id']}/destination",
                         json={"destination_id": files["id"]}, headers=headers)  # fmt: skip

    refused = await client.delete(f"/api/connectors/{files['id']}", headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == (
        "target 'Files' is in use as the workspace's destination and by sources: Orders, Shop; "
        "pick another destination first"
    )
    # The workspace's destination only.
    for source in (shop, orders):
        await client.put(f"/api/connectors/{source['id']}/destination",
                         json={"destination_id": None}, headers=headers)  # fmt: skip
    refused = await client.delete(f"/api/connectors/{files['id']}", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "target 'Files' is in use as the workspace's destination; pick another destination first"
    )
    # One source's own pick only (the workspace moved to another target).
    await client.put("/api/destination", json={"destination_id": spare["id"]}, headers=headers)
    await client.put(f"/api/connectors/{shop['id']}/destination",
                     json={"destination_id": files["id"]}, headers=headers)  # fmt: skip
    refused = await client.delete(f"/api/connectors/{files['id']}", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "target 'Files' is in use by sources: Shop; pick another destination first"
    )
    assert await _exists(client, workspace, files)
    follows = await client.get(f"/api/connectors/{shop['id']}/destination", headers=headers)
    assert follows.json()["effective_name"] == "Files"  # nothing moved

    # Un-picked: deleted. A source is never refused (it is nobody's destination).
    await client.put(f"/api/connectors/{shop['id']}/destination",
                     json={"destination_id": None}, headers=headers)  # fmt: skip
    assert (
        await client.delete(f"/api/connectors/{files['id']}", headers=headers)
    ).status_code == 204
    assert (
        await client.delete(f"/api/connectors/{orders['id']}", headers=headers)
    ).status_code == 204
    assert not await _exists(client, workspace, files)


async def test_bulk_delete_refuses_a_target_in_use_and_deletes_the_rest(client, workspace):
    headers = workspace.owner.headers
    files, spare = await _files(client, workspace), await _files(client, workspace, "Spare")
    shop = await _source(client, workspace)
    await client.put("/api/destination", json={"destination_id": files["id"]}, headers=headers)
    await client.put(f"/api/connectors/{shop['id']}/destination",
                     json={"destination_id": spare["id"]}, headers=headers)  # fmt: skip
    ids = [files["id"], spare["id"]]
    response = await client.post(
        "/api/connectors/bulk", json={"action": "delete", "ids": ids}, headers=headers
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["name"], r["ok"], r["deleted"]) for r in results] == [
        ("Files", False, False), ("Spare", False, False),
    ]  # fmt: skip
    assert results[0]["error"] == (
        "target 'Files' is in use as the workspace's destination; pick another destination first"
    )
    assert results[1]["error"] == (
        "target 'Spare' is in use by sources: Shop; pick another destination first"
    )
    assert await _exists(client, workspace, files) and await _exists(client, workspace, spare)

    # In one request: the source goes first, so its target is free by the time it comes; the
    # workspace's destination is still refused.
    response = await client.post(
        "/api/connectors/bulk", json={"action": "delete", "ids": [shop["id"], spare["id"],
                                                                   files["id"]]},
        headers=headers,
    )  # fmt: skip
    results = response.json()["results"]
    assert [(r["name"], r["ok"]) for r in results] == [
        ("Shop", True), ("Spare", True), ("Files", False),
    ]  # fmt: skip
    assert "in use as the workspace's destination" in results[2]["error"]
    await client.put("/api/destination", json={"destination_id": None}, headers=headers)
    response = await client.post(
        "/api/connectors/bulk", json={"action": "delete", "ids": [files["id"]]}, headers=headers
    )
    assert response.json()["results"][0]["deleted"] is True
    assert not await _exists(client, workspace, files)


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
    # The built-in warehouse, picked over the workspace's target; the modal then says so.
    assert "Built-in warehouse (" in modal.text and 'value="warehouse"' in modal.text
    assert "destination, Files (JSON Lines files)</strong>." in modal.text  # where it lands
    own = await browser.post(
        f"/connectors/{source['id']}/destination", data={"destination_id": "warehouse"},
        headers=hx(owner_csrf, "modal"),
    )  # fmt: skip
    assert own.status_code == 200
    assert "Shop syncs into the built-in warehouse." in own.headers.get("HX-Trigger", "")
    chosen = (await client.get(f"/api/connectors/{source['id']}/destination",
                               headers=workspace.owner.headers)).json()  # fmt: skip
    assert chosen["destination"] == "warehouse" and chosen["effective_id"] is None
    modal = await browser.get(f"/connectors/{source['id']}/destination", headers=hx(owner_csrf))
    assert '<option value="warehouse" data-lands="the built-in warehouse (' in modal.text
    assert "selected>Built-in warehouse (" in modal.text
    assert 'Syncs land in <strong id="source-destination-lands">the built-in warehouse (' in (
        modal.text
    )
    bad = await browser.post(
        f"/connectors/{source['id']}/destination", data={"destination_id": "not-an-id"},
        headers=hx(owner_csrf, "modal"),
    )  # fmt: skip
    assert bad.status_code == 200 and "Pick one of the listed destinations." in bad.text


async def test_the_cards_delete_of_a_target_in_use_is_refused_with_a_toast(
    browser, owner_csrf, client, workspace
):
    files = await _files(client, workspace)
    await client.put("/api/destination", json={"destination_id": files["id"]},
                     headers=workspace.owner.headers)  # fmt: skip
    refused = await browser.post(f"/connectors/{files['id']}/delete", headers=hx(owner_csrf))
    assert refused.status_code == 409
    assert refused.headers["HX-Reswap"] == "none"  # the card stays
    toast = json.loads(refused.headers["HX-Trigger"])["toast"]
    assert toast == {
        "level": "danger",
        "message": "Target 'Files' is in use as the workspace's destination; "
        "pick another destination first.",
    }
    assert await _exists(client, workspace, files)
    await client.put("/api/destination", json={"destination_id": None},
                     headers=workspace.owner.headers)  # fmt: skip
    deleted = await browser.post(f"/connectors/{files['id']}/delete", headers=hx(owner_csrf))
    assert deleted.status_code == 200 and "Files deleted." in deleted.headers["HX-Trigger"]
    assert not await _exists(client, workspace, files)


async def test_the_source_modal_shows_a_refused_pick_in_the_modal(
    browser, owner_csrf, client, workspace
):
    source, other = await _source(client, workspace), await _source_named(client, workspace)
    refused = await browser.post(
        f"/connectors/{source['id']}/destination", data={"destination_id": other["id"]},
        headers=hx(owner_csrf, "modal"),
    )  # fmt: skip
    assert refused.status_code == 200, refused.text
    assert "a destination must be a Singer target connector" in refused.text
    gone = await browser.post(
        f"/connectors/{source['id']}/destination", data={"destination_id": str(uuid.uuid4())},
        headers=hx(owner_csrf, "modal"),
    )  # fmt: skip
    assert gone.status_code == 404
