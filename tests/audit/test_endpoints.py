"""GET /api/audit-events: filters by object (id or a name it had), actor, action and time;
field names, never values; admins only; one workspace's events only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectorhub.tenant.models import Role
from tests.connector.test_endpoints import SECRET, create, twitter
from tests.sync.test_sync import add_source

EVENTS = "/api/audit-events"


async def events(client, member, **params) -> list[dict]:
    response = await client.get(EVENTS, params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.both_backends
async def test_connector_changes_record_field_names_never_values(client, workspace):
    created = await create(client, workspace, twitter("Names"))
    await client.patch(
        f"/api/connectors/{created['id']}",
        json={
            "name": "Renamed",
            "config": {"account_label": "other-label"},
            "auth": {"access_token": "new-" + SECRET},
            "status": "active",
        },
        headers=workspace.owner.headers,
    )
    updated, made = await events(client, workspace.owner, object_id=created["id"])
    assert made["action"] == "connector.created"
    assert made["fields"] == [
        "auth.access_token", "auth.refresh_token", "config.account_label",
        "config.post_defaults", "name", "tags",
    ]  # fmt: skip
    assert updated["action"] == "connector.updated"
    assert updated["object_name"] == "Renamed"
    # post_defaults was left out of the new config: it changed too.
    assert updated["fields"] == [
        "auth.access_token", "config.account_label", "config.post_defaults", "name", "status",
    ]  # fmt: skip
    text = str([made, updated])
    for value in (SECRET, "other-label", "brand", "#a", "marketing"):
        assert value not in text


@pytest.mark.both_backends
async def test_an_object_is_found_by_any_name_it_had(client, workspace):
    created = await create(client, workspace, twitter("Old Name"))
    other = await create(client, workspace, twitter("Someone Else"))
    await client.patch(
        f"/api/connectors/{created['id']}", json={"name": "New Name"},
        headers=workspace.owner.headers,
    )  # fmt: skip
    await client.delete(f"/api/connectors/{created['id']}", headers=workspace.owner.headers)
    expected = ["connector.deleted", "connector.updated", "connector.created"]
    for name in ("Old Name", "New Name", created["id"]):
        found = await events(client, workspace.owner, object_id=name)
        assert [e["action"] for e in found] == expected, name
        assert {e["object_id"] for e in found} == {created["id"]}
    assert [
        e["object_id"] for e in await events(client, workspace.owner, object_id="Someone")
    ] == []
    assert other["id"] not in str(await events(client, workspace.owner, object_id="New Name"))


async def test_filter_by_actor_action_and_time(client, workspace):
    admin = await workspace.member(Role.admin)
    mine = await create(client, workspace, twitter("By owner"))
    response = await client.post("/api/connectors", json=twitter("By admin"), headers=admin.headers)
    theirs = response.json()
    by_admin = await events(client, workspace.owner, actor=str(admin.user_id))
    assert [(e["action"], e["object_id"]) for e in by_admin] == [
        ("connector.created", theirs["id"])
    ]
    created = await events(client, workspace.owner, action="connector.created")
    assert {e["object_id"] for e in created} == {mine["id"], theirs["id"]}
    assert await events(client, workspace.owner, action="connector.deleted") == []
    now = datetime.now(UTC)
    assert len(await events(client, workspace.owner, since=(now - timedelta(hours=1)).isoformat(),
                            action="connector.created")) == 2  # fmt: skip
    assert await events(client, workspace.owner, since=(now + timedelta(hours=1)).isoformat()) == []
    assert await events(client, workspace.owner, until=(now - timedelta(hours=1)).isoformat()) == []


async def test_paginated(client, workspace):
    for index in range(3):
        await create(client, workspace, twitter(f"Paged {index}"))
    response = await client.get(
        EVENTS, params={"page_size": 2, "page": 2, "action": "connector.created"},
        headers=workspace.owner.headers,
    )  # fmt: skip
    body = response.json()
    assert (body["total"], body["page"], len(body["items"])) == (3, 2, 1)
    assert body["items"][0]["object_name"] == "Paged 0"


async def test_another_workspaces_events_are_never_listed(client, workspace, other_workspace):
    theirs = await create(client, other_workspace, twitter("Theirs"))
    for object_id in (theirs["id"], "Theirs"):
        assert await events(client, workspace.owner, object_id=object_id) == []
    assert len(await events(client, other_workspace.owner, object_id="Theirs")) == 1


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_only_admins_read_the_log(client, workspace, role):
    member = await workspace.member(role)
    response = await client.get(EVENTS, headers=member.headers)
    assert response.status_code == 403


async def test_a_schedule_change_is_recorded_by_field_name(client, workspace, source_db):
    source = await add_source(client, workspace, source_db)
    url = f"/api/connectors/{source['id']}/schedule"
    body = {"cron": "0 3 * * *", "timezone": "Europe/Paris"}
    await client.put(url, json=body, headers=workspace.owner.headers)
    await client.put(url, json=body, headers=workspace.owner.headers)  # the same: no event
    found = await events(client, workspace.owner, object_id=source["id"])
    assert [(e["action"], e["fields"]) for e in found] == [
        ("connector.updated", ["schedule", "schedule_timezone"]),
        ("connector.created", ["auth.password", "auth.username", *found[1]["fields"][2:]]),
    ]
    assert "0 3 * * *" not in str(found) and "Europe/Paris" not in str(found)
