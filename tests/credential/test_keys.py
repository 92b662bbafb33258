"""Key loading, the start-up key check, and rotation over real databases."""

from __future__ import annotations

import stat

import pytest

from connectorhub.config import Environment, Settings
from connectorhub.credential import service as credentials
from connectorhub.credential.keys import load_keyring, verify_keys
from connectorhub.exceptions import StartupRefused
from connectorhub.hub import Hub
from connectorhub.key_rotation import rotate
from connectorhub.kit.crypto import Keyring, SecretBox, generate_key
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.lifecycle import migrate_and_seed
from tests.connector.test_endpoints import SECRET, create, stored_secrets, twitter


def test_embedded_default_generates_a_private_key_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    ring = load_keyring(settings)
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    assert load_keyring(settings) == ring  # the second start reads the same key


def test_production_requires_keys_and_postgres():
    with pytest.raises(ValueError, match="SECRET_KEYS is required"):
        Settings(env=Environment.production, database_url="postgresql+psycopg://x@h/db")
    with pytest.raises(ValueError, match="PostgreSQL in production"):
        Settings(env=Environment.production, secret_keys=f"k1:{generate_key()}")


def test_malformed_keys_refuse_start(tmp_path):
    with pytest.raises(StartupRefused, match="malformed"):
        load_keyring(Settings(data_dir=tmp_path, secret_keys="k1:tooshort"))


async def _fresh_hub(tmp_path, keys: str) -> Hub:
    hub = Hub(Settings(data_dir=tmp_path, secret_keys=keys))
    await migrate_and_seed(hub)
    return hub


async def test_wrong_key_refuses_start(tmp_path):
    original = f"k1:{generate_key()}"
    hub = await _fresh_hub(tmp_path, original)
    await hub.start()
    await hub.stop()
    impostor = Hub(Settings(data_dir=tmp_path, secret_keys=f"k1:{generate_key()}"))
    with pytest.raises(StartupRefused, match="not the key that sealed"):
        await impostor.start()
    await impostor.stop()


async def test_missing_key_refuses_start(tmp_path):
    hub = await _fresh_hub(tmp_path, f"k1:{generate_key()}")
    await hub.start()
    await hub.stop()
    other = Hub(Settings(data_dir=tmp_path, secret_keys=f"k2:{generate_key()}"))
    with pytest.raises(StartupRefused, match="'k1', which is not configured"):
        await other.start()
    await other.stop()


async def test_unmigrated_database_refuses_start_with_advice(tmp_path):
    hub = Hub(Settings(data_dir=tmp_path, secret_keys=f"k1:{generate_key()}"))
    with pytest.raises(StartupRefused, match="connectorhub db upgrade"):
        await hub.start()
    await hub.stop()


@pytest.mark.both_backends
async def test_rotation_reseals_everything_and_retires_the_old_key(
    hub, client, workspace, other_workspace
):
    first = await create(client, workspace, twitter("Rotate me"))
    second = await create(client, other_workspace, twitter("Me too"))
    shared = await client.post(
        "/api/credentials",
        json={"name": "ci", "kind": "bearer", "allowed_hosts": ["api.example.com"],
              "values": {"token": SECRET}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert shared.status_code == 201, shared.text
    new_ring = Keyring.parse(
        hub.box.keyring.format()
        + f",k{generate_key()[:6].replace('-', 'x').replace('_', 'y')}:{generate_key()}"
    )
    rotated_box = SecretBox(new_ring)
    report = await rotate(hub.work, rotated_box)
    assert report.rows_resealed >= 2
    assert hub.box.keyring.active_key_id in report.retired_keys
    # Only the new key is needed from now on: every secret opens with it alone.
    new_only = SecretBox(Keyring((new_ring.keys[-1],)))
    original_box = hub.box
    hub.box = new_only
    try:
        assert (await stored_secrets(hub, workspace, first["id"]))["access_token"] == SECRET
        assert (await stored_secrets(hub, other_workspace, second["id"]))["access_token"] == SECRET
        async with hub.sessionmaker() as session, session.begin():
            scope = await WorkspaceScope.open(session, workspace.slug, "test")
            opened, missing = await credentials.for_run(scope, new_only, ["ci"])
        assert opened["ci"].value == SECRET and missing == []
        async with hub.sessionmaker() as session, session.begin():
            await verify_keys(session, new_only)  # the old key's check is gone: no refusal
        again = await rotate(hub.work, new_only)
        assert again.rows_resealed == 0
    finally:
        # Put the shared test key back (re-seal under it) so other tests keep working.
        hub.box = SecretBox(Keyring(tuple(new_ring.keys[-1:]) + tuple(original_box.keyring.keys)))
        await rotate(hub.work, hub.box)
        hub.box = original_box


@pytest.mark.both_backends
async def test_rotation_keeps_a_key_that_still_seals_a_row(hub, client, workspace, monkeypatch):
    """A row written under the old key during rotation (by a process without the new key) keeps
    that key alive: it is reported, not retired, so removing it cannot lose the secret."""
    import connectorhub.key_rotation as keys_module

    stale = await create(client, workspace, twitter("Written meanwhile"))
    real_reseal = keys_module.reseal
    monkeypatch.setattr(
        keys_module,
        "reseal",
        lambda box, **kw: None if str(kw["row_id"]) == stale["id"] else real_reseal(box, **kw),
    )
    old_key = hub.box.keyring.active_key_id
    rotated = SecretBox(Keyring.parse(hub.box.keyring.format() + f",kstale:{generate_key()}"))
    report = await rotate(hub.work, rotated)
    assert report.keys_still_in_use.get(old_key, 0) >= 1
    assert old_key not in report.retired_keys
    monkeypatch.setattr(keys_module, "reseal", real_reseal)
    # Back to the shared test key for the other tests.
    await rotate(hub.work, SecretBox(Keyring((rotated.keyring.keys[-1], *hub.box.keyring.keys))))
