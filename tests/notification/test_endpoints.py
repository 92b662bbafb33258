"""Notifications on both databases: raised by failures, listed with an unread count, marked read."""

from __future__ import annotations

import asyncio

import pytest

from connectorhub.kit.repository import WorkspaceScope
from connectorhub.notification import service
from connectorhub.notification.models import Level
from connectorhub.tenant.models import Role
from tests.execution.test_endpoints import execute, http_connector, install


async def _raise(hub, workspace, **fields) -> None:
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        await service.raise_(scope, **{"kind": "test", "title": "Hello", **fields})


@pytest.mark.both_backends
async def test_an_auth_failure_tells_the_workspace_once_per_problem(client, workspace, api):
    api.json("/v1/login", {"error": "bad password"}, status=401)
    connector = await install(client, workspace, http_connector(api))
    headers = workspace.owner.headers
    await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"}, wait="true")
    listed = (await client.get("/api/notifications", headers=headers)).json()
    assert listed["unread"] == 1 and listed["total"] == 1
    first = listed["items"][0]
    assert first["level"] == "error" and first["kind"] == "connector.auth_failed"
    assert connector["name"] in first["title"] and "401" in first["body"]
    assert first["link"].startswith("/connectors/installed?search=")
    assert first["subject_id"] == connector["id"] and first["read"] is False

    # Fixed and re-activated, it fails again before anyone read the first: folded into it.
    await client.patch(
        f"/api/connectors/{connector['id']}", json={"status": "active"}, headers=headers
    )
    await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"}, wait="true")
    again = (await client.get("/api/notifications", headers=headers)).json()
    assert again["total"] == 1 and again["items"][0]["occurrences"] == 2


async def test_unread_count_mark_read_and_read_all(client, workspace, hub):
    headers = workspace.owner.headers
    for n in range(3):
        await _raise(hub, workspace, subject_id=f"s{n}", title=f"Note {n}", level=Level.warning)
    count = await client.get("/api/notifications/unread-count", headers=headers)
    assert count.json() == {"unread": 3}
    items = (await client.get("/api/notifications", headers=headers)).json()["items"]
    assert [i["title"] for i in items] == ["Note 2", "Note 1", "Note 0"]  # newest first
    read = await client.post(f"/api/notifications/{items[0]['id']}/read", headers=headers)
    assert read.status_code == 200 and read.json()["read"] is True
    unread = (await client.get("/api/notifications?unread=true", headers=headers)).json()
    assert unread["total"] == 2 and unread["unread"] == 2
    marked = await client.post("/api/notifications/read-all", headers=headers)
    assert marked.json() == {"marked": 2}
    assert (await client.get("/api/notifications/unread-count", headers=headers)).json() == {
        "unread": 0
    }
    # A new problem about a subject whose notification was read starts a new one.
    await _raise(hub, workspace, subject_id="s0", title="Note 0 again")
    after = (await client.get("/api/notifications", headers=headers)).json()
    assert after["total"] == 4 and after["unread"] == 1


@pytest.mark.both_backends
async def test_viewers_read_and_other_workspaces_see_nothing(
    client, workspace, other_workspace, hub
):
    await _raise(hub, workspace, title="Private")
    viewer = await workspace.member(Role.viewer)
    mine = (await client.get("/api/notifications", headers=viewer.headers)).json()
    assert mine["total"] == 1
    note_id = mine["items"][0]["id"]
    stranger = other_workspace.owner.headers
    theirs = (await client.get("/api/notifications", headers=stranger)).json()
    assert theirs["total"] == 0 and theirs["unread"] == 0
    refused = await client.post(f"/api/notifications/{note_id}/read", headers=stranger)
    assert refused.status_code == 404
    assert (await client.post("/api/notifications/read-all", headers=stranger)).json() == {
        "marked": 0
    }
    still = (await client.get("/api/notifications/unread-count", headers=viewer.headers)).json()
    assert still == {"unread": 1}


async def test_a_read_only_token_cannot_mark_read(client, workspace, hub):
    await _raise(hub, workspace, title="Keep me unread")
    reader = await workspace.member(Role.admin, scopes=("read",))
    items = (await client.get("/api/notifications", headers=reader.headers)).json()["items"]
    refused = await client.post(f"/api/notifications/{items[0]['id']}/read", headers=reader.headers)
    assert refused.status_code == 403
    assert (
        await client.post("/api/notifications/read-all", headers=reader.headers)
    ).status_code == 403


@pytest.mark.both_backends
async def test_raised_at_the_same_moment_they_still_fold(client, workspace, hub):
    await asyncio.gather(
        *(_raise(hub, workspace, subject_id="race", title="Same") for _ in range(5))
    )
    listed = (await client.get("/api/notifications", headers=workspace.owner.headers)).json()
    assert listed["total"] == 1 and listed["items"][0]["occurrences"] == 5
