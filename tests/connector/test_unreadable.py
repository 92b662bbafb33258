"""Sealed credentials that no key opens (a flipped byte, a value copied from another row) end in
one clear state: the connector in `error` saying to re-enter them, one notification, a 409 for
a request, a failed run for a job, and key rotation that reports them and carries on."""

from __future__ import annotations

import asyncio
import os
import uuid
from types import SimpleNamespace

import pytest

from connectorhub.config import Settings
from connectorhub.connector import service
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.schemas import ConnectorCreate
from connectorhub.connector.unreadable import REASON
from connectorhub.hub import Hub
from connectorhub.key_rotation import rotate
from connectorhub.kit.crypto import Keyring, SecretBox, generate_key
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.publish import service as publish_service
from connectorhub.publish.repository import PublicationRepository
from connectorhub.publish.schemas import PublishRequest
from tests.cli.test_cli import run as cli
from tests.connector.test_endpoints import SECRET, create, stored_secrets, twitter
from tests.publish.test_providers import X_ME, add, publish


def _flip(ciphertext: str) -> str:
    # The last character of the base64 blob sits in the GCM tag: the value no longer opens.
    return ciphertext[:-2] + ("A" if ciphertext[-2] != "A" else "B") + ciphertext[-1]


async def _set_auth(hub, ws, connector_id: str, change) -> None:
    async with hub.sessionmaker() as session, session.begin():
        scope = await WorkspaceScope.open(session, ws.slug, actor="test")
        repository = ConnectorRepository(scope)
        row = await repository.get(uuid.UUID(connector_id))
        assert row is not None
        row.auth = change(dict(row.auth))
        repository.touch(row)


async def flip_a_byte(hub, ws, connector_id: str, field: str = "access_token") -> None:
    await _set_auth(hub, ws, connector_id, lambda auth: {**auth, field: _flip(auth[field])})


async def copy_auth_from(hub, ws, source_id: str, target_id: str) -> None:
    async with hub.sessionmaker() as session, session.begin():
        scope = await WorkspaceScope.open(session, ws.slug, actor="test")
        source = await ConnectorRepository(scope).get(uuid.UUID(source_id))
        assert source is not None
        copied = dict(source.auth)
    await _set_auth(hub, ws, target_id, lambda _: copied)


async def _connector(client, ws, connector_id: str) -> dict:
    response = await client.get(f"/api/installed/{connector_id}", headers=ws.owner.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _notifications(client, ws) -> list[dict]:
    response = await client.get("/api/notifications", headers=ws.owner.headers)
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["kind"] == "connector.credentials_unreadable"]


@pytest.mark.both_backends
@pytest.mark.parametrize("damage", ["flipped byte", "copied from another row"])
async def test_a_publisher_test_answers_409_and_puts_the_connector_in_error(
    hub, client, workspace, damage
):
    victim = await create(client, workspace, twitter("Damaged"))
    if damage == "flipped byte":
        await flip_a_byte(hub, workspace, victim["id"])
    else:
        donor = await create(client, workspace, twitter("Donor"))
        await copy_auth_from(hub, workspace, donor["id"], victim["id"])

    tested = await client.post(
        f"/api/connectors/{victim['id']}/test", headers=workspace.owner.headers
    )
    assert tested.status_code == 409, tested.text
    assert tested.json()["detail"].startswith(REASON)
    assert "access_token" in tested.json()["detail"]
    # The answer was an error, and still the connector's state was kept.
    shown = await _connector(client, workspace, victim["id"])
    assert shown["status"] == "error"
    assert shown["status_reason"].startswith(REASON)
    again = await client.post(
        f"/api/connectors/{victim['id']}/test", headers=workspace.owner.headers
    )
    assert again.status_code == 409
    notes = await _notifications(client, workspace)
    assert [n["subject_id"] for n in notes] == [victim["id"]]  # told once, however often found
    assert notes[0]["level"] == "error"


async def test_re_entering_the_credentials_clears_it(hub, client, workspace):
    victim = await create(client, workspace, twitter("Fix me"))
    await flip_a_byte(hub, workspace, victim["id"])
    await client.post(f"/api/connectors/{victim['id']}/test", headers=workspace.owner.headers)
    fixed = await client.patch(
        f"/api/connectors/{victim['id']}",
        json={"auth": {"access_token": "tok-new-value-1", "refresh_token": "tok-new-value-2"}},
        headers=workspace.owner.headers,
    )
    assert fixed.status_code == 200, fixed.text
    assert (await stored_secrets(hub, workspace, victim["id"]))["access_token"] == "tok-new-value-1"


@pytest.fixture
def x_api(hub, api, monkeypatch):
    monkeypatch.setattr(hub.settings, "x_api_url", api.url)
    api.json("/2/users/me", X_ME)
    api.json("/2/tweets", {"data": {"id": "1", "text": "…"}}, status=201)
    return api


@pytest.mark.both_backends
async def test_a_publication_fails_at_once_and_sends_nothing(hub, client, workspace, x_api):
    cid = await add(client, workspace, "twitter", {"account_label": "@x"},
                    {"access_token": "x-user-token"}, "Unreadable X")  # fmt: skip
    await flip_a_byte(hub, workspace, cid)
    answered = await publish(client, workspace, cid, {"text": "never sent"})
    # A publication that ended failed answers as publishing does: 409, the reason, the row.
    assert answered.status_code == 409, answered.text
    assert answered.json()["detail"].startswith(REASON)
    shown = await client.get(
        f"/api/publications/{answered.json()['publication']['id']}",
        headers=workspace.owner.headers,
    )
    ended = shown.json()
    assert ended["status"] == "failed", ended
    assert ended["error"].startswith(REASON)
    assert ended["attempts"] == 0  # nothing was tried
    assert [hit.path for hit in x_api.hits if hit.path == "/2/tweets"] == []
    assert (await _connector(client, workspace, cid))["status"] == "error"


async def test_a_cut_short_publication_whose_credentials_broke_meanwhile_is_unknown(
    hub, client, workspace, x_api
):
    """Its earlier attempt may have posted; without credentials nobody can ask the provider,
    so it ends `unknown`, not `failed` (which would say nothing went out)."""
    cid = await add(client, workspace, "twitter", {"account_label": "@x"},
                    {"access_token": "x-user-token"}, "Cut short X")  # fmt: skip
    await flip_a_byte(hub, workspace, cid)
    async with hub.work.workspace(workspace.slug, "test") as scope:
        publication, _ = await publish_service.start(
            scope, uuid.UUID(cid), PublishRequest(text="maybe sent"), idempotency_key=None
        )
        row = await PublicationRepository(scope).get(publication.id)
        assert row is not None
        row.status, row.claimed_by, row.attempts = "sending", "process:gone", 1
    async with hub.work.workspace(workspace.slug, "test") as scope:
        claimed = await publish_service.claim(
            scope, hub.box, publication.id, claimant="process:new", take_over=True
        )
    assert claimed is None
    shown = await client.get(f"/api/publications/{publication.id}", headers=workspace.owner.headers)
    assert shown.json()["status"] == "unknown" and shown.json()["attempts"] == 1
    assert shown.json()["error"].startswith(REASON)


@pytest.mark.both_backends
async def test_key_rotation_reports_unreadable_rows_and_reseals_the_rest(hub, client, workspace):
    good = await create(client, workspace, twitter("Healthy"))
    bad = await create(client, workspace, twitter("Broken"))
    await flip_a_byte(hub, workspace, bad["id"], "refresh_token")
    original = hub.box
    rotated = SecretBox(Keyring.parse(original.keyring.format() + f",knew:{generate_key()}"))
    try:
        report = await rotate(hub.work, rotated)
        found = [row for row in report.unreadable if row.row_id == bad["id"]]
        assert [(row.table, row.fields) for row in found] == [("connectors", ["refresh_token"])]
        assert str(found[0]) == f"{workspace.slug}/connectors/{bad['id']} (refresh_token)"
        # The healthy one was re-sealed under the new key and opens with it alone, and so was
        # the broken one's readable field; what is left under the old key no key opens, so the
        # old key is needed by nothing and retires.
        hub.box = SecretBox(Keyring((rotated.keyring.keys[-1],)))
        assert (await stored_secrets(hub, workspace, good["id"]))["access_token"] == SECRET
        async with hub.work.workspace(workspace.slug, "test") as scope:
            row = await ConnectorRepository(scope).get(uuid.UUID(bad["id"]))
            assert row is not None
            assert SecretBox.key_id_of(row.auth["access_token"]) == "knew"
            assert SecretBox.key_id_of(row.auth["refresh_token"]) == "ktest1"
        assert original.keyring.active_key_id in report.retired_keys
        assert (await _connector(client, workspace, bad["id"]))["status"] == "error"
    finally:
        await client.delete(f"/api/connectors/{bad['id']}", headers=workspace.owner.headers)
        hub.box = SecretBox(Keyring((rotated.keyring.keys[-1], *original.keyring.keys)))
        await rotate(hub.work, hub.box)
        hub.box = original


def test_keys_rotate_lists_the_rows_and_exits_1(tmp_path, monkeypatch):
    """The CLI over a real embedded database: one damaged row reported, the rest carried on."""
    for name in [n for n in os.environ if n.startswith("CONNECTORHUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CONNECTORHUB_TEST_CHEAP_PASSWORD_HASHING", "1")
    assert cli(tmp_path, "db", "upgrade").returncode == 0
    assert cli(tmp_path, "workspaces", "create", "acme").returncode == 0

    async def install_two_and_damage_one() -> uuid.UUID:
        hub = Hub(Settings(data_dir=tmp_path))
        await hub.start()
        try:
            async with hub.work.workspace("acme", "test") as scope:
                first = await service.install(scope, hub.box, ConnectorCreate(**twitter("One")))
                await service.install(scope, hub.box, ConnectorCreate(**twitter("Two")))
            await flip_a_byte(hub, SimpleNamespace(slug="acme"), str(first.id))
            return first.id
        finally:
            await hub.stop()

    damaged = asyncio.run(install_two_and_damage_one())
    result = cli(tmp_path, "keys", "rotate")
    assert result.returncode == 1, result
    assert "re-sealed 0 of 2 rows" in result.stdout
    assert "1 rows could not be decrypted" in result.stderr
    assert f"acme/connectors/{damaged} (access_token)" in result.stderr
    assert "Traceback" not in result.stderr
