"""`POST /api/meltano/import` and `GET /api/meltano/export`: env references and secrets sealed,
a broken file refused with its line and nothing written, a dry run writing nothing, and one
workspace's import invisible to another."""

from __future__ import annotations

import logging

import pytest
import yaml

from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import open_secrets
from connectorhub.tenant.models import Role

PASSWORD = "s3cret-Pässword!"
USER = "shop_reader"
PROJECT = """\
version: 1
plugins:
  extractors:
  - name: tap-postgres
    variant: meltanolabs
    pip_url: meltanolabs-tap-postgres
    config:
      host: localhost
      port: $SHOP_PORT
      database: shop
      user: $SHOP_USER
      password: ${SHOP_PASSWORD}
      filter_schemas: [public]
    select:
    - public-orders.*
    metadata:
      public-orders:
        replication-method: INCREMENTAL
        replication-key: id
  loaders:
  - name: target-postgres
    variant: meltanolabs
schedules:
- name: shop-hourly
  extractor: tap-postgres
  loader: target-postgres
  interval: '@hourly'
"""
SECRETS = {"secret.SHOP_USER": USER, "secret.SHOP_PASSWORD": PASSWORD, "secret.SHOP_PORT": "5433"}


async def upload(client, ws, text=PROJECT, values=SECRETS, query="", role=Role.owner):
    member = ws.members.get(role) or await ws.member(role)
    return await client.post(
        f"/api/meltano/import{query}", files={"file": ("meltano.yml", text.encode())},
        data=values, headers=member.headers,
    )  # fmt: skip


async def connectors(client, ws) -> list[dict]:
    listed = await client.get("/api/connectors", headers=ws.owner.headers)
    assert listed.status_code == 200
    return listed.json()["items"]


async def stored(hub, ws, name: str) -> Connector:
    async with hub.sessionmaker() as session, session.begin():
        scope = await WorkspaceScope.open(session, ws.slug, actor="test")
        found = await ConnectorRepository(scope).by_name(name)
        assert found is not None
        session.expunge(found)
        return found


@pytest.mark.both_backends
async def test_an_import_seals_env_references_and_secrets(client, hub, workspace, caplog):
    caplog.set_level(logging.DEBUG)
    answered = await upload(client, workspace)
    assert answered.status_code == 200, answered.text
    [imported] = answered.json()["connectors"]
    assert imported["catalog_key"] == "postgres" and imported["action"] == "create"
    assert imported["sealed"] == ["password", "username"] and imported["needs"] == []
    assert PASSWORD not in answered.text and USER not in answered.text

    [connector] = await connectors(client, workspace)
    assert connector["config"] == {
        "host": "localhost", "port": 5433, "database": "shop", "filter_schemas": ["public"],
    }  # fmt: skip
    assert connector["auth"]["password"] == "********"
    assert connector["selected_streams"] == [
        {"name": "public-orders", "replication_method": "INCREMENTAL", "replication_key": "id"}
    ]
    assert connector["schedule"] == "@hourly" and connector["next_sync_at"]
    row = await stored(hub, workspace, "tap-postgres")
    assert PASSWORD not in str(row.auth) and USER not in str(row.auth)
    opened = open_secrets(
        hub.box, tenant_id=workspace.slug, table="connectors", row_id=row.id, stored=row.auth
    )
    assert opened == {"username": USER, "password": PASSWORD}
    assert PASSWORD not in caplog.text


async def test_a_dry_run_shows_what_is_needed_and_creates_nothing(client, workspace):
    answered = await upload(client, workspace, values={}, query="?dry_run=true")
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["dry_run"] is True
    assert body["connectors"][0]["needs"] == ["SHOP_PORT", "SHOP_USER", "SHOP_PASSWORD"]
    assert body["connectors"][0]["sealed"] == ["password", "username"]
    assert body["connectors"][0]["schedule"] == "@hourly"
    assert any("loaders" in note for note in body["notes"])
    assert await connectors(client, workspace) == []


async def test_missing_values_are_refused_by_name(client, workspace):
    answered = await upload(client, workspace, values={"secret.SHOP_PORT": "5432"})
    assert answered.status_code == 400
    assert set(answered.json()["errors"]) == {"secrets.SHOP_USER", "secrets.SHOP_PASSWORD"}
    assert await connectors(client, workspace) == []


async def test_bad_yaml_is_a_400_with_its_line(client, workspace):
    broken = PROJECT.replace("    select:\n", "    select: [oops\n")
    answered = await upload(client, workspace, text=broken)
    assert answered.status_code == 400
    body = answered.json()
    assert body["line"] == 16, body
    assert "line 16" in body["detail"] and "not valid YAML" in body["detail"]
    raw = await client.post(
        "/api/meltano/import", content=b"plugins: [\n", headers={
            **workspace.owner.headers, "Content-Type": "application/yaml"},
    )  # fmt: skip
    assert raw.status_code == 400 and raw.json()["line"] == 2
    assert await connectors(client, workspace) == []


async def test_one_refused_extractor_leaves_nothing_half_created(client, workspace):
    second = """\
  - name: tap-unknown
    pip_url: tap-unknown==1.0
    schedules_are_elsewhere: true
"""
    text = PROJECT.replace("  loaders:\n", second + "  loaders:\n")
    answered = await upload(client, workspace, text=text)
    assert answered.status_code == 400
    errors = answered.json()["errors"]
    assert list(errors) == ["tap-unknown.pip_url"]
    assert "CONNECTORHUB_MELTANO_CUSTOM_TAPS" in errors["tap-unknown.pip_url"][0]
    assert await connectors(client, workspace) == []


async def test_a_bad_schedule_and_bad_config_are_refused(client, workspace):
    text = PROJECT.replace("'@hourly'", "'61 * * * *'").replace("host: localhost", "host: ''")
    answered = await upload(client, workspace, text=text)
    assert answered.status_code == 400
    assert {"tap-postgres.schedule.cron", "tap-postgres.config.host"} <= set(
        answered.json()["errors"]
    )


async def test_importing_again_updates_the_connector(client, hub, workspace):
    assert (await upload(client, workspace)).status_code == 200
    again = await upload(client, workspace, values={**SECRETS, "secret.SHOP_PASSWORD": "new-one"})
    assert again.status_code == 200 and again.json()["connectors"][0]["action"] == "update"
    assert len(await connectors(client, workspace)) == 1
    row = await stored(hub, workspace, "tap-postgres")
    opened = open_secrets(
        hub.box, tenant_id=workspace.slug, table="connectors", row_id=row.id, stored=row.auth
    )
    assert opened["password"] == "new-one"


async def test_a_connector_not_from_meltano_is_not_overwritten(client, workspace):
    made = await client.post(
        "/api/connectors", json={"catalog_key": "postgres", "name": "tap-postgres",
              "config": {"host": "localhost", "database": "shop"}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    answered = await upload(client, workspace)
    assert answered.status_code == 400 and "tap-postgres.name" in answered.json()["errors"]


@pytest.mark.both_backends
async def test_workspaces_are_isolated(client, workspace, other_workspace):
    assert (await upload(client, workspace)).status_code == 200
    assert await connectors(client, other_workspace) == []
    exported = await client.get("/api/meltano/export", headers=other_workspace.owner.headers)
    assert yaml.safe_load(exported.text)["plugins"]["extractors"] == []
    # the same name in another workspace is that workspace's own connector
    assert (await upload(client, other_workspace)).json()["connectors"][0]["action"] == "create"


async def test_a_viewer_cannot_import(client, workspace):
    answered = await upload(client, workspace, role=Role.viewer)
    assert answered.status_code == 403


async def test_export_writes_references_never_values(client, workspace):
    assert (await upload(client, workspace)).status_code == 200
    exported = await client.get("/api/meltano/export", headers=workspace.owner.headers)
    assert exported.status_code == 200
    assert PASSWORD not in exported.text and USER not in exported.text
    project = yaml.safe_load(exported.text)
    [extractor] = project["plugins"]["extractors"]
    assert extractor["name"] == "tap-postgres" and extractor["variant"] == "meltanolabs"
    assert extractor["config"]["password"] == "${SHOP_PASSWORD}"
    assert extractor["config"]["user"] == "$SHOP_USER"
    assert extractor["config"]["port"] == "$SHOP_PORT"
    assert extractor["select"] == ["public-orders.*"]
    assert project["schedules"] == [
        {"name": "shop-hourly", "interval": "@hourly", "job": "sync-tap-postgres"}
    ]
    assert project["jobs"] == [
        {"name": "sync-tap-postgres", "tasks": ["tap-postgres target-jsonl"]}
    ]


@pytest.fixture
def custom_taps(hub, monkeypatch):
    monkeypatch.setattr(hub.settings, "meltano_custom_taps", True)


async def test_a_tap_the_catalog_lacks_keeps_its_own_plugin(client, hub, workspace, custom_taps):
    text = """\
plugins:
  extractors:
  - name: tap-gitlab
    namespace: tap_gitlab
    pip_url: git+https://gitlab.com/meltano/tap-gitlab.git
    capabilities: [discover, catalog, state]
    settings:
    - name: private_token
      kind: password
    - name: projects
    config:
      projects: meltano/meltano
      start_date: '2024-01-01T00:00:00Z'
    select: ['*.*', '!jobs.*']
"""
    answered = await upload(
        client, workspace, text=text, values={"secret.TAP_GITLAB_PRIVATE_TOKEN": "glpat-1"}
    )
    assert answered.status_code == 200, answered.text
    [imported] = answered.json()["connectors"]
    assert imported["custom_tap"] is True and imported["sealed"] == ["private_token"]
    [connector] = await connectors(client, workspace)
    assert connector["catalog_key"] == "singer-custom"
    assert connector["auth"] == {"private_token": "********"}
    assert connector["selected_streams"] is None  # the globs wait for the first discovery
    plugin = connector["definition"]["plugin"]
    assert plugin["pip_url"] == "git+https://gitlab.com/meltano/tap-gitlab.git"
    assert plugin["executable"] == "tap-gitlab" and plugin["name"].startswith("meltano-tap-gitlab-")


async def test_a_connector_added_by_hand_exports_as_a_custom_plugin(client, workspace):
    made = await client.post(
        "/api/connectors",
        json={"catalog_key": "postgres", "name": "Shop DB",
              "config": {"host": "db.internal", "database": "shop"},
              "auth": {"username": USER, "password": PASSWORD}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    exported = await client.get("/api/meltano/export", headers=workspace.owner.headers)
    assert PASSWORD not in exported.text and USER not in exported.text
    [extractor] = yaml.safe_load(exported.text)["plugins"]["extractors"]
    assert extractor["name"] == "Shop-DB" and extractor["namespace"] == "Shop_DB"
    assert extractor["pip_url"] == "meltanolabs-tap-postgres==0.10.0"
    assert extractor["executable"] == "tap-postgres"
    assert extractor["config"] == {
        "host": "db.internal", "database": "shop",
        "user": "$SHOP_DB_USER", "password": "$SHOP_DB_PASSWORD",
    }  # fmt: skip
    assert {"name": "password", "kind": "password", "sensitive": True} in extractor["settings"]
