"""The installed-connector API: create, validate, edit, status, delete, list, isolation."""

from __future__ import annotations

import uuid

import httpx
import pytest

from connectorhub.tenant.models import Role
from tests.fixtures.factories import WorkspaceFixture

SECRET = "tok-THIS-IS-SECRET-9f8e7d"


def twitter(name: str = "Brand X", **overrides: object) -> dict:
    body = {
        "catalog_key": "twitter",
        "name": name,
        "config": {"account_label": "brand", "post_defaults": {"append_hashtags": ["#a"]}},
        "auth": {"access_token": SECRET, "refresh_token": "refresh-" + SECRET},
        "tags": ["marketing", "social"],
    }
    body.update(overrides)
    return body


async def create(client: httpx.AsyncClient, ws: WorkspaceFixture, body: dict) -> dict:
    response = await client.post("/api/connectors", json=body, headers=ws.owner.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_starts_inactive_and_masks_auth(client, workspace):
    created = await create(client, workspace, twitter())
    assert created["status"] == "inactive"
    assert created["catalog_key"] == "twitter"
    assert created["auth"] == {"access_token": "********", "refresh_token": "********"}
    assert created["tags"] == ["marketing", "social"]
    assert created["created_by"] == str(workspace.owner.user_id)
    fetched = await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    assert fetched.status_code == 200
    assert SECRET not in fetched.text
    assert fetched.json()["config"] == {
        "account_label": "brand",
        "post_defaults": {"append_hashtags": ["#a"]},
    }


async def test_create_by_catalog_id(client, workspace):
    entry = (await client.get("/api/catalog/wordpress", headers=workspace.owner.headers)).json()
    body = {
        "catalog_id": entry["id"],
        "name": "Blog",
        "config": {"base_url": "https://blog.example.com", "site_label": "Blog"},
        "auth": {"username": "editor", "password": SECRET},
    }
    created = await create(client, workspace, body)
    assert created["catalog_key"] == "wordpress"
    assert created["config"]["base_url"] == "https://blog.example.com"


async def test_schema_invalid_config_is_400_with_error_map(client, workspace):
    body = {
        "catalog_key": "wordpress",
        "name": "Bad",
        "config": {
            "base_url": "not a url",
            "site_label": "x",
            "default_status": "live",
            "extra": 1,
        },
    }
    response = await client.post("/api/connectors", json=body, headers=workspace.owner.headers)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["config.base_url"] == ["Must be a full URL, such as https://example.com."]
    assert errors["config.site_label"] == ["Must be at least 2 characters."]
    assert errors["config.default_status"] == ["Must be one of: draft, publish."]
    assert errors["config.extra"] == ["Unknown field."]
    listed = await client.get("/api/installed", headers=workspace.owner.headers)
    assert listed.json()["total"] == 0  # nothing was saved


async def test_missing_required_config_field_is_named(client, workspace):
    response = await client.post(
        "/api/connectors", json=twitter(config={}), headers=workspace.owner.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"config.account_label": ["This field is required."]}


async def test_nested_array_error_path(client, workspace):
    config = {
        "account_label": "ok",
        "post_defaults": {"append_hashtags": ["a", "b", "c", "d", "e", "f"]},
    }
    response = await client.post(
        "/api/connectors", json=twitter(config=config), headers=workspace.owner.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "config.post_defaults.append_hashtags": ["Must have at most 5 items."]
    }


async def test_unknown_catalog_key_is_400(client, workspace):
    response = await client.post(
        "/api/connectors", json=twitter(catalog_key="myspace"), headers=workspace.owner.headers
    )
    assert response.status_code == 400
    assert "catalog_key" in response.json()["errors"]


async def test_unknown_auth_field_is_400(client, workspace):
    response = await client.post(
        "/api/connectors", json=twitter(auth={"api_key": "x"}), headers=workspace.owner.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"auth.api_key": ["Unknown auth field for oauth auth."]}
    body = {
        "catalog_key": "http",
        "name": "H",
        "config": {"base_url": "https://api.example.com"},
        "auth": {"api_key": "x"},
    }
    response = await client.post("/api/connectors", json=body, headers=workspace.owner.headers)
    assert response.json()["errors"] == {"auth.api_key": ["This connector takes no credentials."]}


async def test_malformed_payload_is_422_without_echoing_input(client, workspace):
    response = await client.post(
        "/api/connectors",
        json={
            "catalog_key": "twitter",
            "name": "",
            "config": [],
            "auth": {"access_token": {"nested": SECRET}},
        },
        headers=workspace.owner.headers,
    )
    assert response.status_code == 422
    assert SECRET not in response.text


@pytest.mark.both_backends
async def test_duplicate_name_is_409_per_workspace(client, workspace, other_workspace):
    await create(client, workspace, twitter("Same"))
    response = await client.post(
        "/api/connectors", json=twitter("Same"), headers=workspace.owner.headers
    )
    assert response.status_code == 409
    await create(client, other_workspace, twitter("Same"))  # another workspace may use the name


@pytest.mark.both_backends
async def test_rename_onto_existing_name_is_409(client, workspace):
    await create(client, workspace, twitter("One"))
    two = await create(client, workspace, twitter("Two"))
    response = await client.patch(
        f"/api/connectors/{two['id']}", json={"name": "One"}, headers=workspace.owner.headers
    )
    assert response.status_code == 409


async def test_put_replaces_config_and_mask_keeps_secret(client, workspace, hub):
    created = await create(client, workspace, twitter())
    body = {
        "name": "Renamed",
        "config": {"account_label": "renamed"},
        "auth": {"access_token": "********", "refresh_token": "********"},
        "tags": ["x"],
    }
    response = await client.put(
        f"/api/connectors/{created['id']}", json=body, headers=workspace.owner.headers
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "Renamed"
    assert updated["config"] == {"account_label": "renamed"}
    assert updated["tags"] == ["x"]
    assert await stored_secrets(hub, workspace, created["id"]) == {
        "access_token": SECRET,
        "refresh_token": "refresh-" + SECRET,
    }


async def test_put_merges_the_fields_sent_like_patch(client, workspace, hub):
    created = await create(client, workspace, twitter())
    url, headers = f"/api/connectors/{created['id']}", workspace.owner.headers
    response = await client.put(url, json={"status": "active"}, headers=headers)
    assert response.status_code == 200, response.text
    activated = response.json()
    assert activated["status"] == "active"
    assert activated["name"] == created["name"]
    assert activated["config"] == created["config"]
    assert activated["tags"] == created["tags"]
    assert activated["auth"] == created["auth"]
    assert (await client.put(url, json={}, headers=headers)).json()["status"] == "active"
    assert await stored_secrets(hub, workspace, created["id"]) == {
        "access_token": SECRET,
        "refresh_token": "refresh-" + SECRET,
    }


async def test_get_connectors_lists_as_installed_does(client, workspace):
    await create(client, workspace, twitter("One", tags=["a"]))
    await create(client, workspace, twitter("Two", tags=["b"]))
    headers = workspace.owner.headers
    for params in ({}, {"tag": "b"}, {"page_size": 1, "page": 2}, {"search": "one"}):
        listed = await client.get("/api/connectors", params=params, headers=headers)
        installed = await client.get("/api/installed", params=params, headers=headers)
        assert listed.status_code == 200, listed.text
        assert listed.json() == installed.json()
    assert (
        await client.get("/api/connectors", params={"status": "weird"}, headers=headers)
    ).status_code == 422
    paths = (await client.get("/openapi.json")).json()["paths"]
    listed_op, installed_op = paths["/api/connectors"]["get"], paths["/api/installed"]["get"]
    assert listed_op["parameters"] == installed_op["parameters"]
    assert listed_op["responses"]["200"] == installed_op["responses"]["200"]


async def test_auth_fields_that_are_no_secret_are_shown_in_clear(client, workspace, hub):
    body = {"catalog_key": "wordpress", "name": "Blog", "auth": {"username": "editor", "password": SECRET},
            "config": {"base_url": "https://b.example", "site_label": "Blog"}}  # fmt: skip
    created = await create(client, workspace, body)
    expected = {"username": "editor", "password": "********"}  # the entry: username secret: false
    headers = workspace.owner.headers
    patched = await client.patch(
        f"/api/connectors/{created['id']}", json={"tags": ["x"]}, headers=headers
    )
    fetched = await client.get(f"/api/installed/{created['id']}", headers=headers)
    listed = (await client.get("/api/installed", headers=headers)).json()["items"]
    also = (await client.get("/api/connectors", headers=headers)).json()["items"]
    for shown in (created, patched.json(), fetched.json(), listed[0], also[0]):
        assert shown["auth"] == expected
    assert SECRET not in fetched.text + str(listed)
    # Still sealed at rest, as before.
    assert await stored_secrets(hub, workspace, created["id"]) == {
        "username": "editor",
        "password": SECRET,
    }


async def test_update_secret_replaces_only_that_field(client, workspace, hub):
    created = await create(client, workspace, twitter())
    response = await client.patch(
        f"/api/connectors/{created['id']}",
        json={"auth": {"access_token": "new-token", "refresh_token": "********"}},
        headers=workspace.owner.headers,
    )
    assert response.status_code == 200
    assert "new-token" not in response.text
    assert await stored_secrets(hub, workspace, created["id"]) == {
        "access_token": "new-token",
        "refresh_token": "refresh-" + SECRET,
    }
    cleared = await client.patch(
        f"/api/connectors/{created['id']}",
        json={"auth": {"refresh_token": None}},
        headers=workspace.owner.headers,
    )
    assert cleared.json()["auth"] == {"access_token": "********"}


async def test_patch_invalid_config_is_400_and_changes_nothing(client, workspace):
    created = await create(client, workspace, twitter())
    response = await client.patch(
        f"/api/connectors/{created['id']}",
        json={"config": {"account_label": 5}, "name": "Other"},
        headers=workspace.owner.headers,
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"config.account_label": ["Must be a string."]}
    unchanged = (
        await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    ).json()
    assert unchanged["name"] == created["name"]


async def test_status_transitions(client, workspace):
    created = await create(client, workspace, twitter(auth={}))
    url = f"/api/connectors/{created['id']}"
    headers = workspace.owner.headers

    refused = await client.patch(url, json={"status": "active"}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "auth.access_token": ["Required before the connector can be activated."]
    }

    await client.patch(url, json={"auth": {"access_token": SECRET}}, headers=headers)
    active = await client.patch(url, json={"status": "active"}, headers=headers)
    assert active.status_code == 200 and active.json()["status"] == "active"
    assert active.json()["warnings"] == []

    inactive = await client.patch(url, json={"status": "inactive"}, headers=headers)
    assert inactive.json()["status"] == "inactive"

    errored = await client.patch(url, json={"status": "error"}, headers=headers)
    assert errored.json()["status"] == "error"
    assert errored.json()["warnings"] and "by hand" in errored.json()["warnings"][0]

    back = await client.patch(url, json={"status": "active"}, headers=headers)
    assert back.json()["status"] == "active"
    assert "Re-activated" in back.json()["warnings"][0]


async def test_clearing_a_required_secret_of_an_active_connector_is_refused(client, workspace):
    created = await create(client, workspace, twitter())
    url = f"/api/connectors/{created['id']}"
    activated = await client.patch(url, json={"status": "active"}, headers=workspace.owner.headers)
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    response = await client.patch(
        url, json={"auth": {"access_token": None}}, headers=workspace.owner.headers
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["auth.access_token"], response.text
    # Refused means unchanged: still active, the secret still held.
    after = await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    assert after.json()["status"] == "active"
    assert after.json()["auth"] == {"access_token": "********", "refresh_token": "********"}


async def test_delete_is_hard(client, workspace):
    created = await create(client, workspace, twitter())
    response = await client.delete(
        f"/api/connectors/{created['id']}", headers=workspace.owner.headers
    )
    assert response.status_code == 204
    again = await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    assert again.status_code == 404
    assert (
        await client.delete(f"/api/connectors/{created['id']}", headers=workspace.owner.headers)
    ).status_code == 404


@pytest.mark.both_backends
async def test_another_workspaces_connector_is_404_everywhere(client, workspace, other_workspace):
    theirs = await create(client, other_workspace, twitter())
    url = f"/api/connectors/{theirs['id']}"
    mine = workspace.owner.headers
    assert (await client.get(f"/api/installed/{theirs['id']}", headers=mine)).status_code == 404
    assert (
        await client.put(url, json={"name": "x", "config": {"account_label": "xx"}}, headers=mine)
    ).status_code == 404
    assert (await client.patch(url, json={"status": "error"}, headers=mine)).status_code == 404
    assert (await client.delete(url, headers=mine)).status_code == 404
    listed = (await client.get("/api/installed", headers=mine)).json()
    assert listed["total"] == 0
    still_there = await client.get(
        f"/api/installed/{theirs['id']}", headers=other_workspace.owner.headers
    )
    assert still_there.json()["status"] == "inactive"


async def test_unknown_id_is_404(client, workspace):
    response = await client.get(f"/api/installed/{uuid.uuid4()}", headers=workspace.owner.headers)
    assert response.status_code == 404


@pytest.mark.both_backends
async def test_list_filters_and_pagination(client, workspace):
    for index in range(7):
        await create(
            client, workspace, twitter(f"X {index}", tags=["even" if index % 2 == 0 else "odd"])
        )
    blog = await create(
        client,
        workspace,
        {
            "catalog_key": "wordpress",
            "name": "Blog 100%_done",
            "config": {"base_url": "https://b.example", "site_label": "Blog"},
            "auth": {"username": "u", "password": "p"},
        },
    )
    headers = workspace.owner.headers
    await client.patch(f"/api/connectors/{blog['id']}", json={"status": "active"}, headers=headers)

    async def names(**params: object) -> list[str]:
        response = await client.get("/api/installed", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await names(status="active") == ["Blog 100%_done"]
    assert await names(catalog_key="wordpress") == ["Blog 100%_done"]
    assert await names(tag="odd") == ["X 1", "X 3", "X 5"]
    assert await names(search="100%") == ["Blog 100%_done"]
    assert await names(search="x 6") == ["X 6"]
    assert await names(search="%") == ["Blog 100%_done"]  # LIKE wildcards are matched literally
    first = (await client.get("/api/installed", params={"page_size": 3}, headers=headers)).json()
    assert first["total"] == 8 and len(first["items"]) == 3 and first["page"] == 1
    last = await client.get("/api/installed", params={"page": 3, "page_size": 3}, headers=headers)
    assert [item["name"] for item in last.json()["items"]] == ["X 5", "X 6"]
    assert last.json()["total"] == 8
    # A page past the end has no row to carry the total: it is counted on its own.
    beyond = await client.get("/api/installed", params={"page": 9, "page_size": 3}, headers=headers)
    assert beyond.json()["items"] == [] and beyond.json()["total"] == 8
    filtered = await client.get("/api/installed", params={"tag": "odd"}, headers=headers)
    assert filtered.json()["total"] == 3
    none = await client.get("/api/installed", params={"search": "nothing like it"}, headers=headers)
    assert none.json() == {"items": [], "total": 0, "page": 1, "page_size": 50}
    assert (
        await client.get("/api/installed", params={"page_size": 0}, headers=headers)
    ).status_code == 422
    assert (
        await client.get("/api/installed", params={"status": "weird"}, headers=headers)
    ).status_code == 422


async def test_publish_targets_lists_active_publishers_only(client, workspace):
    active = await create(client, workspace, twitter("Live X"))
    await create(client, workspace, twitter("Idle X"))
    await create(
        client,
        workspace,
        {"catalog_key": "http", "name": "API", "config": {"base_url": "https://api.example.com"}},
    )
    await client.patch(
        f"/api/connectors/{active['id']}",
        json={"status": "active"},
        headers=workspace.owner.headers,
    )
    response = await client.get("/api/publish-targets", headers=workspace.owner.headers)
    assert response.json() == [
        {
            "id": active["id"],
            "name": "Live X",
            "catalog_key": "twitter",
            "capabilities": {"post_text": True, "post_media": True, "max_length": 280},
            # Not tested yet (no account known), and X has no driver in this version.
            "account": None,
            "ready": False,
        }
    ]


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_viewer_and_member_cannot_mutate(client, workspace, role):
    created = await create(client, workspace, twitter())
    member = await workspace.member(role)
    assert (
        await client.get(f"/api/installed/{created['id']}", headers=member.headers)
    ).status_code == 200
    assert (
        await client.post("/api/connectors", json=twitter("Mine"), headers=member.headers)
    ).status_code == 403
    url = f"/api/connectors/{created['id']}"
    assert (
        await client.patch(url, json={"status": "active"}, headers=member.headers)
    ).status_code == 403
    assert (await client.delete(url, headers=member.headers)).status_code == 403


async def test_admin_can_mutate(client, workspace):
    admin = await workspace.member(Role.admin)
    response = await client.post("/api/connectors", json=twitter("By admin"), headers=admin.headers)
    assert response.status_code == 201


@pytest.mark.both_backends
async def test_mutations_are_audited_without_secrets(client, workspace):
    created = await create(client, workspace, twitter())
    await client.patch(
        f"/api/connectors/{created['id']}",
        json={"auth": {"access_token": "rotated-" + SECRET}},
        headers=workspace.owner.headers,
    )
    await client.delete(f"/api/connectors/{created['id']}", headers=workspace.owner.headers)
    response = await client.get(
        "/api/audit-events", params={"object_id": created["id"]}, headers=workspace.owner.headers
    )
    events = response.json()["items"]
    assert [e["action"] for e in events] == [
        "connector.deleted",
        "connector.updated",
        "connector.created",
    ]
    assert events[1]["fields"] == ["auth.access_token"]
    assert [e["object_name"] for e in events] == ["Brand X"] * 3
    assert all(e["created_by"] == str(workspace.owner.user_id) for e in events)
    assert SECRET not in response.text


async def stored_secrets(hub, ws: WorkspaceFixture, connector_id: str) -> dict[str, str]:
    """Open the sealed auth behind the API, as a driver would."""
    from connectorhub.connector.repository import ConnectorRepository
    from connectorhub.kit.repository import WorkspaceScope
    from connectorhub.kit.sealing import open_secrets

    async with hub.sessionmaker() as session, session.begin():
        scope = await WorkspaceScope.open(session, ws.slug, actor="test")
        row = await ConnectorRepository(scope).get(uuid.UUID(connector_id))
        assert row is not None
        return open_secrets(
            hub.box, tenant_id=ws.slug, table="connectors", row_id=row.id, stored=row.auth
        )
