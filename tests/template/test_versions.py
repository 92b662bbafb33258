"""Template version history through the API: every published version kept, a diff between two,
install or upgrade to a chosen version, roll back as a new version; saving a connector as a
template; the moderation queue; what each platform role may do."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from connectorhub.auth.models import User
from connectorhub.tenant.models import Role
from tests.template.test_endpoints import STEP, template


async def with_platform_role(hub, member, role: str | None) -> None:
    async with hub.sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.id == member.user_id).values(platform_role=role)
        )


def definition(version_mark: int) -> dict:
    body = template()["definition"]
    return {**body, "output": {"pong": "{{steps.ping.pong}}", "mark": version_mark}}


async def publish_versions(client, headers, count: int) -> dict:
    """A community template with versions 1..count, each marking its output with its number."""
    t = (await client.post("/api/templates", json=template(), headers=headers)).json()
    for number in range(1, count + 1):
        patched = await client.patch(
            f"/api/templates/{t['id']}", json={"definition": definition(number)}, headers=headers
        )
        assert patched.status_code == 200, patched.text
        published = await client.post(
            f"/api/templates/{t['id']}/publish", json={"changelog": f"Mark {number}"},
            headers=headers,
        )  # fmt: skip
        assert published.json()["version"] == number, published.text
    return t


@pytest.mark.both_backends
async def test_every_version_is_kept_and_diffed(client, workspace, other_workspace):
    author, reader = workspace.owner.headers, other_workspace.owner.headers
    t = await publish_versions(client, author, 3)
    listed = await client.get(f"/api/templates/{t['key']}/versions", headers=reader)
    assert listed.status_code == 200
    assert [(v["version"], v["changelog"]) for v in listed.json()] == [
        (3, "Mark 3"), (2, "Mark 2"), (1, "Mark 1"),
    ]  # fmt: skip
    first = (await client.get(f"/api/templates/{t['key']}/versions/1", headers=reader)).json()
    assert first["definition"]["output"]["mark"] == 1
    assert first["default_config"] == {"base_url": "https://api.acme.test"}

    diff = await client.get(f"/api/templates/{t['key']}/diff?from=1&to=3", headers=reader)
    assert diff.status_code == 200
    text = diff.json()["diff"]
    assert text.startswith("--- version 1\n+++ version 3\n")
    assert '-      "mark": 1,\n' in text and '+      "mark": 3,\n' in text
    # Only the changed line (and its context) shows, not the whole document.
    assert '"url"' not in text
    same = await client.get(f"/api/templates/{t['key']}/diff?from=2&to=2", headers=reader)
    assert same.json()["diff"] == ""
    missing = await client.get(f"/api/templates/{t['key']}/versions/9", headers=reader)
    assert missing.status_code == 404
    assert (
        await client.get(f"/api/templates/{t['key']}/diff?from=1&to=9", headers=reader)
    ).status_code == 404


@pytest.mark.both_backends
async def test_a_draft_and_its_versions_are_another_workspace_s_404(
    client, workspace, other_workspace
):
    author, stranger = workspace.owner.headers, other_workspace.owner.headers
    t = await publish_versions(client, author, 1)
    await client.post(f"/api/templates/{t['id']}/unpublish", headers=author)
    for path in ("versions", "versions/1", "diff?from=1&to=1"):
        seen = await client.get(f"/api/templates/{t['key']}/{path}", headers=stranger)
        assert seen.status_code == 404, path
        assert (await client.get(f"/api/templates/{t['key']}/{path}", headers=author)).is_success
    rollback = await client.post(
        f"/api/templates/{t['key']}/rollback", json={"version": 1}, headers=stranger
    )
    assert rollback.status_code == 404


@pytest.mark.both_backends
async def test_install_a_chosen_version_and_upgrade_to_any(client, workspace, other_workspace):
    author, user = workspace.owner.headers, other_workspace.owner.headers
    t = await publish_versions(client, author, 3)
    installed = await client.post(
        f"/api/templates/{t['key']}/install", json={"name": f"v2-{uuid.uuid4().hex[:6]}",
                                                    "version": 2}, headers=user,
    )  # fmt: skip
    assert installed.status_code == 201, installed.text
    connector = installed.json()["connector"]
    assert connector["template_version"] == 2 and connector["definition"]["output"]["mark"] == 2
    no_such = await client.post(
        f"/api/templates/{t['key']}/install", json={"name": "nine", "version": 9}, headers=user
    )
    assert no_such.status_code == 404
    down = await client.post(
        f"/api/connectors/{connector['id']}/upgrade", json={"version": 1}, headers=user
    )
    assert down.status_code == 200, down.text
    assert down.json()["template_version"] == 1 and down.json()["definition"]["output"]["mark"] == 1
    same = await client.post(
        f"/api/connectors/{connector['id']}/upgrade", json={"version": 1}, headers=user
    )
    assert same.status_code == 409
    latest = await client.post(f"/api/connectors/{connector['id']}/upgrade", headers=user)
    assert latest.json()["template_version"] == 3


@pytest.mark.both_backends
async def test_rollback_publishes_the_old_content_as_a_new_version(client, workspace):
    author = workspace.owner.headers
    t = await publish_versions(client, author, 2)
    rolled = await client.post(
        f"/api/templates/{t['key']}/rollback", json={"version": 1}, headers=author
    )
    assert rolled.status_code == 200, rolled.text
    assert (
        rolled.json()["version"] == 3 and rolled.json()["changelog"] == "Rolled back to version 1"
    )
    events = await client.get(f"/api/audit-events?object_id={t['id']}", headers=author)
    rolled_back = [e for e in events.json()["items"] if e["action"] == "template.rolled_back"]
    assert [e["changes"] for e in rolled_back] == [{"from_version": 1, "version": 3}]
    third = (await client.get(f"/api/templates/{t['key']}/versions/3", headers=author)).json()
    assert third["definition"]["output"]["mark"] == 1
    assert [v["version"] for v in (await client.get(
        f"/api/templates/{t['key']}/versions", headers=author)).json()] == [3, 2, 1]  # fmt: skip
    # Rolling back to what is published already changes nothing.
    again = await client.post(
        f"/api/templates/{t['key']}/rollback", json={"version": 1}, headers=author
    )
    assert again.status_code == 409


async def test_save_a_connector_as_a_template_refuses_literal_secrets(client, workspace, api):
    owner = workspace.owner.headers
    base = {"catalog_key": "http", "config": {"base_url": api.url}}
    clean = await client.post(
        "/api/connectors", json={**base, "name": f"c-{uuid.uuid4().hex[:6]}",
                                 "definition": template()["definition"]}, headers=owner,
    )  # fmt: skip
    assert clean.status_code == 201, clean.text
    key = f"saved-{uuid.uuid4().hex[:8]}"
    saved = await client.post(
        "/api/templates/from-connector",
        json={"connector_id": clean.json()["id"], "key": key, "name": "Saved"}, headers=owner,
    )  # fmt: skip
    assert saved.status_code == 201, saved.text
    assert saved.json()["status"] == "draft" and saved.json()["owned_by_you"] is True
    assert saved.json()["definition"]["steps"][0]["url"] == STEP["url"]
    assert saved.json()["default_config"]["base_url"] == api.url

    leaky_definition = {**template()["definition"],
                        "steps": [{**STEP, "headers": {"X-Api-Key": "abcd1234literal"}}]}  # fmt: skip
    leaky = await client.post(
        "/api/connectors", json={**base, "name": f"l-{uuid.uuid4().hex[:6]}",
                                 "definition": leaky_definition}, headers=owner,
    )  # fmt: skip
    assert leaky.status_code == 201, leaky.text
    refused = await client.post(
        "/api/templates/from-connector",
        json={"connector_id": leaky.json()["id"], "key": f"leak-{uuid.uuid4().hex[:8]}",
              "name": "Leaky"}, headers=owner,
    )  # fmt: skip
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["definition.steps[0].headers.X-Api-Key"]
    nobody = await client.post(
        "/api/templates/from-connector",
        json={"connector_id": str(uuid.uuid4()), "key": f"n-{uuid.uuid4().hex[:8]}", "name": "N"},
        headers=owner,
    )  # fmt: skip
    assert nobody.status_code == 404


async def test_another_workspace_s_connector_is_not_saved_as_a_template(
    client, workspace, other_workspace, api
):
    created = await client.post(
        "/api/connectors", json={"catalog_key": "http", "name": f"c-{uuid.uuid4().hex[:6]}",
                                 "config": {"base_url": api.url},
                                 "definition": template()["definition"]},
        headers=workspace.owner.headers,
    )  # fmt: skip
    refused = await client.post(
        "/api/templates/from-connector",
        json={"connector_id": created.json()["id"], "key": f"x-{uuid.uuid4().hex[:8]}",
              "name": "X"}, headers=other_workspace.owner.headers,
    )  # fmt: skip
    assert refused.status_code == 404


@pytest.mark.both_backends
async def test_a_developer_edits_official_drafts_but_does_not_publish(
    client, hub, workspace, other_workspace
):
    developer = await workspace.member(Role.admin)
    await with_platform_role(hub, developer, "developer")
    made = await client.post(
        "/api/templates", json=template(is_official=True), headers=developer.headers
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    edited = await client.patch(
        f"/api/templates/{key}", json={"name": "Edited by a developer"}, headers=developer.headers
    )
    assert edited.status_code == 200 and edited.json()["name"] == "Edited by a developer"
    for action in ("publish", "unpublish"):
        refused = await client.post(f"/api/templates/{key}/{action}", headers=developer.headers)
        assert refused.status_code == 403, action
    assert (
        await client.post(
            f"/api/templates/{key}/feature", json={"featured": True}, headers=developer.headers
        )
    ).status_code == 403
    assert (
        await client.get("/api/admin/templates/queue", headers=developer.headers)
    ).status_code == 403
    # Nor another workspace's community draft.
    community = (
        await client.post("/api/templates", json=template(), headers=other_workspace.owner.headers)
    ).json()
    hidden = await client.patch(
        f"/api/templates/{community['id']}", json={"name": "x"}, headers=developer.headers
    )
    assert hidden.status_code == 404

    admin = await other_workspace.member(Role.admin)
    await with_platform_role(hub, admin, "admin")
    published = await client.post(
        f"/api/templates/{key}/publish", json={"changelog": "Reviewed"}, headers=admin.headers
    )
    assert published.status_code == 200 and published.json()["version"] == 1
    # A published official template: the developer edits its next draft, the admin publishes it.
    changed = await client.patch(
        f"/api/templates/{key}", json={"definition": definition(2)}, headers=developer.headers
    )
    assert changed.json()["has_unpublished_changes"] is True
    assert changed.json()["definition"]["output"]["mark"] == 2  # the working copy they edit
    refused = await client.post(f"/api/templates/{key}/publish", headers=developer.headers)
    assert refused.status_code == 403 and "platform admins" in refused.json()["detail"]
    second = await client.post(f"/api/templates/{key}/publish", headers=admin.headers)
    assert second.json()["version"] == 2
    taken = await client.post(f"/api/templates/{key}/unpublish", headers=admin.headers)
    assert taken.json()["status"] == "unpublished"
    await with_platform_role(hub, developer, None)
    await with_platform_role(hub, admin, None)


@pytest.mark.both_backends
async def test_the_moderation_queue_lists_recent_community_templates(
    client, hub, workspace, other_workspace
):
    author = workspace.owner.headers
    older = await publish_versions(client, author, 1)
    newer = await publish_versions(client, author, 1)
    draft = (await client.post("/api/templates", json=template(), headers=author)).json()
    admin = await other_workspace.member(Role.admin)
    await with_platform_role(hub, admin, "admin")
    queue = await client.get("/api/admin/templates/queue", headers=admin.headers)
    assert queue.status_code == 200
    keys = [t["key"] for t in queue.json()]
    assert keys.index(newer["key"]) < keys.index(older["key"])
    assert draft["key"] not in keys and not any(t["is_official"] for t in queue.json())
    assert (
        await client.get("/api/admin/templates/queue", headers=workspace.owner.headers)
    ).status_code == 403
    await with_platform_role(hub, admin, None)
