"""The templates marketplace on both databases: drafts, literal-secret refusal, publishing
versions, visibility across workspaces, moderation, install, update notifications, upgrade."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import update

from connectorhub.auth.models import User
from connectorhub.tenant.models import Role

STEP = {
    "name": "ping",
    "url": "/v1/ping/{{input.who}}",
    "auth": {"type": "bearer", "token": "{{workspace.acme}}"},
    "extract": {"pong": "$.pong"},
}


def template(key: str | None = None, **fields) -> dict:
    return {
        "key": key or f"acme-{uuid.uuid4().hex[:8]}",
        "name": "Acme ping",
        "description": "Pings Acme",
        "category": "Testing",
        "definition": {
            "credentials": ["acme"],
            "input_schema": {"type": "object", "properties": {"who": {"type": "string"}}},
            "steps": [STEP],
            "output": {"pong": "{{steps.ping.pong}}"},
        },
        "default_config": {"base_url": "https://api.acme.test"},
        **fields,
    }


async def make_platform_admin(hub, member) -> None:
    async with hub.sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.id == member.user_id).values(platform_role="admin")
        )


async def test_a_literal_secret_is_refused_naming_the_field(client, workspace):
    body = template()
    body["definition"]["steps"] = [{**STEP, "headers": {"Authorization": "Bearer sk-live-123"}}]
    refused = await client.post("/api/templates", json=body, headers=workspace.owner.headers)
    assert refused.status_code == 400
    assert "never carry credentials" in refused.json()["detail"]
    assert list(refused.json()["errors"]) == ["definition.steps[0].headers.Authorization"]
    body = template()
    body["definition"]["steps"] = [{**STEP, "url": "/v1/ping/{{input.nobody}}"}]
    unknown = await client.post("/api/templates", json=body, headers=workspace.owner.headers)
    assert unknown.status_code == 400 and "definition.steps[0].url" in unknown.json()["errors"]


@pytest.mark.both_backends
async def test_draft_publish_and_visibility(client, workspace, other_workspace):
    mine, theirs = workspace.owner.headers, other_workspace.owner.headers
    created = await client.post("/api/templates", json=template(), headers=mine)
    assert created.status_code == 201, created.text
    t = created.json()
    assert t["status"] == "draft" and t["version"] == 0 and t["owned_by_you"] is True
    assert t["required_credentials"] == ["acme"] and not t["is_official"]
    # A draft is the owner's alone.
    assert (await client.get(f"/api/templates/{t['id']}", headers=theirs)).status_code == 404
    drafts = (await client.get("/api/templates?mine=true", headers=mine)).json()
    assert [d["key"] for d in drafts["items"]] == [t["key"]]
    published = await client.post(
        f"/api/templates/{t['key']}/publish", json={"changelog": "First"}, headers=mine
    )
    assert published.json()["status"] == "published" and published.json()["version"] == 1
    seen = (await client.get("/api/templates?search=acme+ping", headers=theirs)).json()
    assert t["key"] in [i["key"] for i in seen["items"]]
    # Another workspace neither edits nor publishes it.
    edit = await client.patch(f"/api/templates/{t['id']}", json={"name": "Mine"}, headers=theirs)
    assert edit.status_code == 403
    again = await client.post(f"/api/templates/{t['id']}/publish", headers=mine)
    assert again.status_code == 409  # nothing changed since version 1
    # Workspace-only visibility hides it from others again.
    await client.patch(f"/api/templates/{t['id']}", json={"visibility": "workspace"}, headers=mine)
    assert (await client.get(f"/api/templates/{t['id']}", headers=theirs)).status_code == 404


@pytest.mark.both_backends
async def test_browse_filters(client, workspace):
    headers = workspace.owner.headers
    official = (await client.get("/api/templates?official=true", headers=headers)).json()
    assert official["total"] >= 5 and all(i["is_official"] for i in official["items"])
    assert {"github-open-issues", "slack-post-message"} <= {i["key"] for i in official["items"]}
    featured = (await client.get("/api/templates?featured=true", headers=headers)).json()
    assert featured["items"] and all(i["featured"] for i in featured["items"])
    payments = (await client.get("/api/templates?category=Payments", headers=headers)).json()
    assert [i["key"] for i in payments["items"]] == ["stripe-customers"]
    community = (await client.get("/api/templates?official=false", headers=headers)).json()
    assert all(not i["is_official"] for i in community["items"])


async def test_only_platform_admins_make_official_feature_and_moderate(
    client, workspace, other_workspace, hub
):
    owner = workspace.owner.headers
    refused = await client.post("/api/templates", json=template(is_official=True), headers=owner)
    assert refused.status_code == 403
    community = (await client.post("/api/templates", json=template(), headers=owner)).json()
    await client.post(f"/api/templates/{community['id']}/publish", headers=owner)
    feature = await client.post(
        f"/api/templates/{community['id']}/feature", json={"featured": True}, headers=owner
    )
    assert feature.status_code == 403

    moderator = await other_workspace.member(Role.admin)
    await make_platform_admin(hub, moderator)
    made = await client.post(
        "/api/templates", json=template(is_official=True), headers=moderator.headers
    )
    assert made.status_code == 201 and made.json()["is_official"] is True
    featured = await client.post(
        f"/api/templates/{community['id']}/feature", json={"featured": True},
        headers=moderator.headers,
    )  # fmt: skip
    assert featured.status_code == 200 and featured.json()["featured"] is True
    pulled = await client.post(
        f"/api/templates/{community['id']}/unpublish", headers=moderator.headers
    )
    assert pulled.json()["status"] == "unpublished" and pulled.json()["featured"] is False
    assert (await client.get(f"/api/templates/{community['id']}", headers=owner)).status_code == 200
    # Editing an official template stays with platform admins.
    edit = await client.patch(
        "/api/templates/github-open-issues", json={"name": "Mine now"}, headers=owner
    )
    assert edit.status_code == 403


@pytest.mark.both_backends
async def test_install_update_notification_and_explicit_upgrade(
    client, workspace, other_workspace, api
):
    author, user = workspace.owner.headers, other_workspace.owner.headers
    t = (await client.post("/api/templates", json=template(), headers=author)).json()
    await client.post(f"/api/templates/{t['id']}/publish", headers=author)
    installed = await client.post(
        f"/api/templates/{t['id']}/install",
        json={"name": "Acme from template", "config": {"base_url": api.url}},
        headers=user,
    )
    assert installed.status_code == 201, installed.text
    body = installed.json()
    assert body["missing_credentials"] == ["acme"]
    connector = body["connector"]
    assert connector["template_id"] == t["id"] and connector["template_version"] == 1
    assert connector["status"] == "inactive" and connector["config"]["base_url"] == api.url
    count = (await client.get(f"/api/templates/{t['id']}", headers=user)).json()["install_count"]
    assert count == 1

    # The author publishes version 2: the installer is told, and nothing changes until it upgrades.
    v2 = {**template()["definition"], "output": {"pong": "{{steps.ping.pong}}", "v": 2}}
    await client.patch(f"/api/templates/{t['id']}", json={"definition": v2}, headers=author)
    published = await client.post(
        f"/api/templates/{t['id']}/publish", json={"changelog": "Adds v"}, headers=author
    )
    assert published.json()["version"] == 2
    notes = (await client.get("/api/notifications", headers=user)).json()
    for _ in range(100):  # the notice is sent by a background job
        if notes["total"]:
            break
        await asyncio.sleep(0.05)
        notes = (await client.get("/api/notifications", headers=user)).json()
    note = notes["items"][0]
    assert note["kind"] == "template.update_available" and "version 2" in note["title"]
    assert "Adds v" in note["body"] and "Acme from template" in note["body"]
    assert (await client.get("/api/notifications", headers=author)).json()["total"] == 0
    current = await client.get(f"/api/installed/{connector['id']}", headers=user)
    assert (
        current.json()["template_version"] == 1
        and "v" not in current.json()["definition"]["output"]
    )
    upgraded = await client.post(f"/api/connectors/{connector['id']}/upgrade", headers=user)
    assert upgraded.status_code == 200, upgraded.text
    assert upgraded.json()["template_version"] == 2
    assert upgraded.json()["definition"]["output"]["v"] == 2
    again = await client.post(f"/api/connectors/{connector['id']}/upgrade", headers=user)
    assert again.status_code == 409


async def test_members_browse_but_do_not_install(client, workspace):
    member = await workspace.member(Role.member)
    assert (await client.get("/api/templates", headers=member.headers)).status_code == 200
    refused = await client.post(
        "/api/templates/github-open-issues/install", json={"name": "x"}, headers=member.headers
    )
    assert refused.status_code == 403


@pytest.mark.both_backends
async def test_a_moderated_template_stays_down_and_keys_are_not_ids(
    client, workspace, other_workspace, hub
):
    owner = workspace.owner.headers
    t = (await client.post("/api/templates", json=template(), headers=owner)).json()
    await client.post(f"/api/templates/{t['id']}/publish", headers=owner)
    moderator = await other_workspace.member(Role.admin)
    await make_platform_admin(hub, moderator)
    await client.post(f"/api/templates/{t['id']}/unpublish", headers=moderator.headers)
    again = await client.post(f"/api/templates/{t['id']}/publish", headers=owner)
    assert again.status_code == 403 and "platform admin" in again.json()["detail"]
    restored = await client.post(f"/api/templates/{t['id']}/publish", headers=moderator.headers)
    assert restored.status_code == 200 and restored.json()["status"] == "published"
    for key in (uuid.uuid4().hex, str(uuid.uuid4())):
        refused = await client.post("/api/templates", json=template(key), headers=owner)
        assert refused.status_code == 422, key


@pytest.mark.both_backends
async def test_an_official_file_never_clashes_with_a_community_key(client, workspace, hub):
    from connectorhub.template import official

    taken = (
        await client.post("/api/templates", json=template(), headers=workspace.owner.headers)
    ).json()
    original = official.load_official
    clash = {**original()[0], "key": taken["key"]}
    official.load_official = lambda: [*original(), clash]
    try:
        await official.seed_official(
            hub.work
        )  # logs and skips the clash instead of failing start-up
    finally:
        official.load_official = original
    kept = await client.get(f"/api/templates/{taken['key']}", headers=workspace.owner.headers)
    assert kept.json()["is_official"] is False
