"""Workspace API credentials: the API on both databases, and how executions use them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from connectorhub.credential.models import WorkspaceApiCredential
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.tenant.models import Role
from tests.execution.test_endpoints import execute, http_connector, install

TOKEN = "ghp_live-credential-value-1234"


def bearer(name: str = "github", hosts: list[str] | None = None, **values) -> dict:
    return {
        "name": name,
        "kind": "bearer",
        "description": "CI bot",
        "allowed_hosts": ["127.0.0.1"] if hosts is None else hosts,
        "values": values or {"token": TOKEN},
    }


async def add(client, ws, body: dict):
    return await client.post("/api/credentials", json=body, headers=ws.owner.headers)


async def test_admins_create_and_nobody_reads_the_value(client, workspace, hub):
    created = await add(client, workspace, bearer(hosts=["API.GitHub.com", "*.github.com"]))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["values"] == {"token": "********"}
    assert body["allowed_hosts"] == ["api.github.com", "*.github.com"]
    assert body["reference"] == "{{workspace.github}}" and body["last_used_at"] is None
    listed = await client.get("/api/credentials", headers=workspace.owner.headers)
    assert [c["name"] for c in listed.json()["items"]] == ["github"]
    assert TOKEN not in listed.text
    one = await client.get(f"/api/credentials/{body['id']}", headers=workspace.owner.headers)
    assert one.status_code == 200 and TOKEN not in one.text
    async with hub.sessionmaker() as session, session.begin():
        await WorkspaceScope.open(session, workspace.slug, "test")
        row = await session.scalar(
            select(WorkspaceApiCredential).where(WorkspaceApiCredential.id == uuid.UUID(body["id"]))
        )
    assert row.secret["token"].startswith("v1.") and TOKEN not in str(row.secret)


@pytest.mark.both_backends
async def test_roles_and_other_workspaces(client, workspace, other_workspace):
    created = (await add(client, workspace, bearer())).json()
    viewer = await workspace.member(Role.viewer)
    member = await workspace.member(Role.member)
    assert (await client.get("/api/credentials", headers=viewer.headers)).status_code == 200
    for who in (viewer, member):
        refused = await client.post("/api/credentials", json=bearer("x"), headers=who.headers)
        assert refused.status_code == 403
        gone = await client.delete(f"/api/credentials/{created['id']}", headers=who.headers)
        assert gone.status_code == 403
    stranger = other_workspace.owner.headers
    url = f"/api/credentials/{created['id']}"
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.patch(url, json={"description": "x"}, headers=stranger)).status_code == 404
    assert (await client.delete(url, headers=stranger)).status_code == 404
    theirs = await client.get("/api/credentials", headers=stranger)
    assert theirs.json()["total"] == 0


async def test_invalid_credentials_are_refused_clearly(client, workspace):
    missing = await add(client, workspace, {**bearer(), "values": {}})
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"values.token": ["Required."]}
    unknown = await add(client, workspace, bearer(token=TOKEN, password="x"))
    assert unknown.status_code == 400 and "values.password" in unknown.json()["errors"]
    basic = await add(
        client, workspace, {**bearer("b"), "kind": "basic", "values": {"username": "u"}}
    )
    assert basic.json()["errors"] == {"values.password": ["Required."]}
    for hosts in (["https://api.github.com"], ["api.github.com/path"], ["host:443"], [], ["a b"]):
        bad = await add(client, workspace, bearer(hosts=hosts))
        assert bad.status_code == 422, hosts
        assert TOKEN not in bad.text  # the payload's secret is never echoed
    for name in ("GitHub", "1st", "with-dash", "a" * 64, "__class__"):
        assert (await add(client, workspace, bearer(name))).status_code == 422, name
    assert (await add(client, workspace, bearer())).status_code == 201
    again = await add(client, workspace, bearer())
    assert again.status_code == 409 and "already exists" in again.json()["detail"]


async def test_update_keeps_masked_values_and_refuses_losing_a_required_one(client, workspace):
    created = (await add(client, workspace, bearer())).json()
    url = f"/api/credentials/{created['id']}"
    headers = workspace.owner.headers
    kept = await client.patch(
        url, json={"values": {"token": "********"}, "allowed_hosts": ["api.github.com"]},
        headers=headers,
    )  # fmt: skip
    assert kept.status_code == 200 and kept.json()["allowed_hosts"] == ["api.github.com"]
    cleared = await client.patch(url, json={"values": {"token": None}}, headers=headers)
    assert cleared.status_code == 400 and cleared.json()["errors"] == {
        "values.token": ["Required."]
    }
    events = await client.get("/api/audit-events", headers=headers)
    actions = [event["action"] for event in events.json()["items"]]
    assert "credential.created" in actions and "credential.updated" in actions
    assert TOKEN not in events.text


@pytest.mark.both_backends
async def test_an_execution_sends_it_only_to_its_hosts(client, workspace, api, hub):
    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"name": "Ada"})
    created = (await add(client, workspace, bearer(hosts=["127.0.0.1"]))).json()
    connector = await install(
        client, workspace,
        http_connector(
            api, credentials=["github"],
            steps=[{"name": "profile", "url": "/users/{{input.user}}",
                    "auth": {"type": "bearer", "token": "{{workspace.github}}"},
                    "extract": {"name": "$.name"}}],
            output={"name": "{{steps.profile.name}}"},
        ),
    )  # fmt: skip
    done = await execute(client, workspace, connector["id"], {"user": 7}, wait="true")
    assert done.json()["status"] == "succeeded", done.text
    assert api.hits_to("/v1/users/7")[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in done.text  # the step record shows it redacted
    used = await client.get(f"/api/credentials/{created['id']}", headers=workspace.owner.headers)
    assert used.json()["last_used_at"] is not None

    # Narrow the hosts: the same run now fails before connecting.
    hits = len(api.hits)
    await client.patch(
        f"/api/credentials/{created['id']}", json={"allowed_hosts": ["api.github.com"]},
        headers=workspace.owner.headers,
    )  # fmt: skip
    refused = await execute(client, workspace, connector["id"], {"user": 7}, wait="true")
    assert refused.json()["status"] == "failed"
    assert "may only be sent to api.github.com" in refused.json()["error"]
    assert len(api.hits) == hits

    # In use: not deletable; once the connector is gone, it is.
    blocked = await client.delete(
        f"/api/credentials/{created['id']}", headers=workspace.owner.headers
    )
    assert blocked.status_code == 409 and connector["name"] in blocked.json()["detail"]
    await client.delete(f"/api/connectors/{connector['id']}", headers=workspace.owner.headers)
    gone = await client.delete(f"/api/credentials/{created['id']}", headers=workspace.owner.headers)
    assert gone.status_code == 204


@pytest.mark.both_backends
async def test_a_missing_credential_fails_the_run_with_advice(client, workspace, api):
    connector = await install(
        client, workspace,
        http_connector(
            api, credentials=["nowhere"],
            steps=[{"name": "ping", "url": "/ping",
                    "auth": {"type": "bearer", "token": "{{workspace.nowhere}}"}}],
            output={},
        ),
    )  # fmt: skip
    done = await execute(client, workspace, connector["id"], {"user": 7}, wait="true")
    assert done.json()["status"] == "failed"
    assert "'nowhere' does not exist" in done.json()["error"]
    assert api.hits == []
