"""PostgreSQL row-level security on connector_templates, as the non-superuser runtime role:
drafts stay their workspace's, writes need the owner workspace or a platform-admin context.
The statements below deliberately carry no visibility filter: only the policies stand."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from connectorhub.db import bind_tenant
from connectorhub.template.repository import TemplateRepository
from tests.fixtures.factories import make_workspace
from tests.template.test_endpoints import template

OFFICIAL = "github-open-issues"
INSERT = (
    "INSERT INTO connector_templates (id, key, name, description, category, icon, is_official, "
    "owner_tenant_id, visibility, status, featured, moderated, install_count, definition, "
    "default_config, version, changelog, created_at, updated_at) VALUES (:id, :key, 'x', '', "
    "'Testing', 'world-www', :official, :owner, 'public', 'draft', false, false, 0, '{}', '{}', "
    "0, '', now(), now())"
)


@pytest.fixture
def client(postgres_client):
    return postgres_client


async def _templates(client, ws) -> tuple[str, str, str]:
    """Keys of a draft, a published public and a published workspace-only template of `ws`."""
    keys = []
    for visibility, publish in (("public", False), ("public", True), ("workspace", True)):
        body = template(visibility=visibility)
        created = await client.post("/api/templates", json=body, headers=ws.owner.headers)
        assert created.status_code == 201, created.text
        if publish:
            url = f"/api/templates/{body['key']}/publish"
            assert (await client.post(url, headers=ws.owner.headers)).status_code == 200
        keys.append(body["key"])
    return keys[0], keys[1], keys[2]


async def _keys(session) -> set[str]:
    return set((await session.scalars(text("SELECT key FROM connector_templates"))).all())


async def test_without_a_workspace_only_published_public_and_official_templates_are_seen(
    postgres_hub, client
):
    b = await make_workspace(postgres_hub)
    draft, public, private = await _templates(client, b)
    async with postgres_hub.sessionmaker() as session, session.begin():
        seen = await _keys(session)
    assert public in seen and OFFICIAL in seen
    assert draft not in seen and private not in seen


async def test_a_workspace_neither_reads_nor_writes_another_workspaces_templates(
    postgres_hub, client
):
    a, b = await make_workspace(postgres_hub), await make_workspace(postgres_hub)
    draft, public, private = await _templates(client, b)
    async with postgres_hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, a.slug)
        seen = await _keys(session)
        assert public in seen and OFFICIAL in seen
        assert draft not in seen and private not in seen
        for key in (draft, public, private, OFFICIAL):
            changed = await session.execute(
                text("UPDATE connector_templates SET name = 'pwned' WHERE key = :k"), {"k": key}
            )
            assert changed.rowcount == 0, key
            deleted = await session.execute(
                text("DELETE FROM connector_templates WHERE key = :k"), {"k": key}
            )
            assert deleted.rowcount == 0, key
    for owner, official in ((b.slug, False), (None, True)):
        async with postgres_hub.sessionmaker() as session:
            with pytest.raises(DBAPIError, match="row-level security"):
                async with session.begin():
                    await bind_tenant(session, a.slug)
                    params = {"id": uuid.uuid4(), "key": f"x-{uuid.uuid4().hex[:8]}"}
                    await session.execute(
                        text(INSERT), {**params, "official": official, "owner": owner}
                    )
    async with postgres_hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, b.slug)  # the owner still reads and edits all of its own
        assert {draft, public, private} <= await _keys(session)
        changed = await session.execute(
            text("UPDATE connector_templates SET description = 'edited' WHERE key = ANY(:k)"),
            {"k": [draft, public, private]},
        )
        assert changed.rowcount == 3


async def test_the_platform_admin_context_reads_and_writes_every_template(postgres_hub, client):
    b = await make_workspace(postgres_hub)
    draft, _, private = await _templates(client, b)
    async with postgres_hub.sessionmaker() as session, session.begin():
        repository = TemplateRepository(session, None, platform_admin=True)
        assert (await repository.get(draft)) is not None
        assert (await repository.get(private)) is not None
        official = await repository.get(OFFICIAL)
        assert official is not None and await repository.lock(official)
        # The flag is the transaction's: the statement below carries no filter at all.
        changed = await session.execute(
            text("UPDATE connector_templates SET description = description WHERE key = ANY(:k)"),
            {"k": [draft, private, OFFICIAL]},
        )
        assert changed.rowcount == 3


async def test_a_key_taken_by_another_workspaces_draft_is_a_conflict(postgres_hub, client):
    a, b = await make_workspace(postgres_hub), await make_workspace(postgres_hub)
    draft, _, _ = await _templates(client, b)
    clash = await client.post("/api/templates", json=template(draft), headers=a.owner.headers)
    assert clash.status_code == 409 and "already exists" in clash.json()["detail"]


async def _version_template_ids(session) -> set[str]:
    rows = await session.scalars(text("SELECT template_id::text FROM template_versions"))
    return set(rows.all())


async def test_versions_follow_their_template_and_developers_reach_official_rows_only(
    postgres_hub, client
):
    a, b = await make_workspace(postgres_hub), await make_workspace(postgres_hub)
    _, public, private = await _templates(client, b)
    ids = {}
    for key in (public, private):
        read = await client.get(f"/api/templates/{key}", headers=b.owner.headers)
        ids[key] = read.json()["id"]
    async with postgres_hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, a.slug)
        seen = await _version_template_ids(session)
        assert ids[public] in seen and ids[private] not in seen
        # Another workspace writes no version of a template it does not own.
        changed = await session.execute(
            text("UPDATE template_versions SET changelog = 'pwned' WHERE template_id = :t"),
            {"t": ids[public]},
        )
        assert changed.rowcount == 0
    async with postgres_hub.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="row-level security"):
            async with session.begin():
                await bind_tenant(session, a.slug)
                await session.execute(
                    text(
                        "INSERT INTO template_versions (id, template_id, version, definition,"
                        " default_config, changelog, published_at, created_at, updated_at)"
                        " VALUES (:id, :t, 99, '{}', '{}', '', now(), now(), now())"
                    ),
                    {"id": uuid.uuid4(), "t": ids[public]},
                )
    async with postgres_hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, b.slug)
        assert {ids[public], ids[private]} <= await _version_template_ids(session)

    # A platform developer's flag admits official rows, and never another workspace's draft.
    async with postgres_hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, a.slug)
        repository = TemplateRepository(session, a.slug, official_author=True)
        official = await repository.get(OFFICIAL)
        assert official is not None and await repository.lock(official)
        assert await repository.get(private) is None
        changed = await session.execute(
            text("UPDATE connector_templates SET description = description WHERE key = ANY(:k)"),
            {"k": [OFFICIAL, private, public]},
        )
        assert changed.rowcount == 1
        versions = await session.execute(
            text("UPDATE template_versions SET changelog = changelog WHERE template_id = :t"),
            {"t": str(official.id)},
        )
        assert versions.rowcount == 0  # publishing (writing versions) is a platform admin's
