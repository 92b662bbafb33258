"""The `connectorhub` command line against a fresh embedded data dir: in-process through Typer's
CliRunner (the commands call `asyncio.run`, so these tests are plain sync functions), from a data
dir migrated once per session and copied per test. `serve` runs as a real process, and one
command is run as a real process too (`test_production_refuses_without_keys`)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import traceback
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from connectorhub.cli.main import app
from tests.fixtures.live_server import CLI, hub_env, live_server


@dataclass
class Ran:
    """What a command did, shaped like subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


def run(data_dir: Path, *args: str, stdin: str | None = None, **env: str) -> Ran:
    """The command in this process, with the environment a hub process would get (hub_env)."""
    environment: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("CONNECTORHUB_")
    }
    environment.update(CONNECTORHUB_DATA_DIR=str(data_dir), **env)
    result = CliRunner().invoke(app, list(args), input=stdin, env=environment)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Ran(result.exit_code, result.stdout, stderr)


def run_process(
    data_dir: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=hub_env(data_dir, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def migrated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli") / "data"
    result = run(data, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "database is up to date" in result.stdout
    return data


@pytest.fixture
def data_dir(migrated_data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the session's freshly migrated data dir (database and key file) of its own."""
    data = tmp_path / "data"
    shutil.copytree(migrated_data_dir, data)
    return data


def test_db_upgrade_is_idempotent_and_seed_changes_nothing(data_dir):
    assert run(data_dir, "db", "upgrade").returncode == 0
    seeded = run(data_dir, "seed")
    assert seeded.returncode == 0
    assert re.search(r"catalog: 0 created, 0 updated, \d+ unchanged", seeded.stdout)
    assert stat.S_IMODE((data_dir / "secret.keys").stat().st_mode) == 0o600


@pytest.mark.slow
def test_workspace_user_and_token_by_the_documented_commands(data_dir):
    assert run(data_dir, "workspaces", "create", "acme", "--name", "Acme Inc").returncode == 0
    duplicate = run(data_dir, "workspaces", "create", "acme")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    created = run(
        data_dir, "users", "create", "ops@example.com", "--workspace", "acme", "--role", "admin",
        "--password-stdin", stdin="a long enough password\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "one-time password" not in created.stdout
    token = run(
        data_dir,
        "tokens",
        "create",
        "--workspace",
        "acme",
        "--email",
        "ops@example.com",
        "--name",
        "deploy",
    )
    assert token.returncode == 0, token.stderr
    assert re.fullmatch(r"chub_[A-Za-z0-9_-]{43}\n", token.stdout)  # only the token on stdout
    generated = run(
        data_dir, "users", "create", "viewer@example.com", "--workspace", "acme", "--role", "viewer"
    )
    assert "one-time password:" in generated.stdout
    bad_role = run(
        data_dir, "users", "create", "x@example.com", "--workspace", "acme", "--role", "god"
    )
    assert bad_role.returncode == 1 and "role must be one of" in bad_role.stderr
    stranger = run(
        data_dir, "tokens", "create", "--workspace", "acme", "--email", "nobody@example.com"
    )
    assert stranger.returncode == 1 and stranger.stdout == ""

    with live_server(data_dir) as server:
        assert server.token == ""  # not a first start: nothing is bootstrapped or printed again
        me = httpx.get(
            f"{server.url}/api/me", headers={"Authorization": f"Bearer {token.stdout.strip()}"}
        )
        assert me.json()["workspace"] == "acme" and me.json()["role"] == "admin"


@pytest.mark.slow
def test_first_start_bootstraps_an_owner_once(tmp_path):
    data = tmp_path / "fresh"
    with live_server(data) as server:
        assert server.workspace == "default" and server.email == "admin@example.com"
        assert len(server.password) >= 16 and server.token.startswith("chub_")
        catalog = httpx.get(f"{server.url}/api/catalog", headers=server.headers)
        assert catalog.status_code == 200 and catalog.json()["total"] >= 7
    with live_server(data) as again:
        assert again.token == "" and "First start" not in "".join(again.output)


def test_keys_generate_prints_an_entry(data_dir):
    result = run(data_dir, "keys", "generate")
    assert re.fullmatch(r"k\d{14}:[A-Za-z0-9_-]{43}\n", result.stdout)


@pytest.mark.slow
def test_key_rotation_while_serving(data_dir):
    """Add a key, restart, rotate while the server runs, drop the old key: secrets survive."""
    body = {"catalog_key": "wordpress", "name": "Blog", "config": {"base_url": "https://b.example", "site_label": "Blog"},
            "auth": {"username": "editor", "password": "wp-app-password"}}  # fmt: skip
    token = _owner_token(data_dir)
    headers = {"Authorization": f"Bearer {token}"}
    with live_server(data_dir) as server:
        assert (
            httpx.post(f"{server.url}/api/connectors", json=body, headers=headers).status_code
            == 201
        )
    old_keys = (data_dir / "secret.keys").read_text().split()
    added = run(data_dir, "keys", "generate", "--write")
    assert added.returncode == 0 and "keys rotate" in added.stdout
    with live_server(data_dir) as server:
        rotated = run(data_dir, "keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        assert (
            "re-sealed 1 of 1 rows" in rotated.stdout
            and old_keys[0].split(":")[0] in rotated.stdout
        )
        listed = httpx.get(f"{server.url}/api/installed", headers=headers).json()
        assert listed["items"][0]["auth"] == {"password": "********", "username": "editor"}
    new_only = (data_dir / "secret.keys").read_text().split()[-1]
    (data_dir / "secret.keys").write_text(new_only + "\n")
    with live_server(data_dir) as server:
        assert httpx.get(f"{server.url}/api/installed", headers=headers).status_code == 200


def test_wrong_key_refuses_to_start_with_a_clear_message(data_dir):
    other = run(data_dir, "keys", "generate").stdout.strip()
    same_id = (data_dir / "secret.keys").read_text().split(":")[0] + ":" + other.split(":", 1)[1]
    result = run(data_dir, "serve", "--port", "1", CONNECTORHUB_SECRET_KEYS=same_id)
    assert result.returncode == 1
    assert "is not the key that sealed the stored secrets" in result.stderr
    # A key id the stored checks do not know (ids are timestamps: a fresh one may share the
    # data dir's second, so it is named here).
    unknown = "kunknown:" + other.split(":", 1)[1]
    missing = run(data_dir, "serve", "--port", "1", CONNECTORHUB_SECRET_KEYS=unknown)
    assert missing.returncode == 1 and "not configured" in missing.stderr


def test_serve_runs_one_process_on_sqlite(data_dir):
    # The embedded default's process is its own worker and scheduler (cli/serving.py).
    result = run(data_dir, "serve", "--port", "1", "--workers", "2")
    assert result.returncode == 2
    assert "--workers above 1 needs PostgreSQL" in result.stderr


@pytest.mark.slow
def test_production_refuses_without_keys(tmp_path):
    result = run_process(
        tmp_path,
        "seed",
        CONNECTORHUB_ENV="production",
        CONNECTORHUB_DATABASE_URL="postgresql+psycopg://x@127.0.0.1/none",
    )
    assert result.returncode != 0
    assert "CONNECTORHUB_SECRET_KEYS is required in production" in result.stderr


def _owner_token(data_dir: Path) -> str:
    assert run(data_dir, "workspaces", "create", "rot").returncode == 0
    assert (
        run(
            data_dir, "users", "create", "o@example.com", "--workspace", "rot", "--role", "owner"
        ).returncode
        == 0
    )
    return run(
        data_dir, "tokens", "create", "--workspace", "rot", "--email", "o@example.com"
    ).stdout.strip()


def test_set_password_and_email_validation(data_dir):
    assert run(data_dir, "workspaces", "create", "pw").returncode == 0
    bad = run(data_dir, "users", "create", "not-an-email", "--workspace", "pw", "--role", "viewer")
    assert bad.returncode == 1 and "not a valid email address" in bad.stderr
    assert (
        run(
            data_dir, "users", "create", "pw@example.com", "--workspace", "pw", "--role", "owner"
        ).returncode
        == 0
    )
    short = run(
        data_dir, "users", "set-password", "pw@example.com", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    reset = run(data_dir, "users", "set-password", "pw@example.com")
    assert reset.returncode == 0 and "one-time password:" in reset.stdout
    nobody = run(data_dir, "users", "set-password", "nobody@example.com")
    assert nobody.returncode == 1 and "no user" in nobody.stderr
    missing = run(data_dir, "tokens", "create", "--workspace", "nope", "--email", "pw@example.com")
    assert missing.returncode == 1 and "no workspace 'nope'" in missing.stderr


@pytest.mark.parametrize("suffix", ["local", "internal", "lan", "test"])
def test_users_on_internal_domains_are_created(data_dir, suffix):
    assert run(data_dir, "workspaces", "create", "corp").returncode == 0
    email = f"ops@corp.{suffix}"
    created = run(data_dir, "users", "create", email, "--workspace", "corp", "--role", "owner")
    assert created.returncode == 0, created.stderr
    assert f"{email} is now owner of corp" in created.stdout
    token = run(data_dir, "tokens", "create", "--workspace", "corp", "--email", email)
    assert token.returncode == 0, token.stderr


def test_users_role_grants_platform_roles_and_keeps_the_last_owner(data_dir):
    assert run(data_dir, "workspaces", "create", "plat").returncode == 0
    for email in ("first@example.com", "second@example.com"):
        made = run(data_dir, "users", "create", email, "--workspace", "plat", "--role", "admin")
        assert made.returncode == 0, made.stderr
    owner = run(data_dir, "users", "role", "first@example.com", "owner")
    assert owner.returncode == 0 and "first@example.com is now platform owner" in owner.stdout
    last = run(data_dir, "users", "role", "first@example.com", "admin")
    assert last.returncode == 1 and "last platform owner" in last.stderr
    assert run(data_dir, "users", "role", "second@example.com", "owner").returncode == 0
    demoted = run(data_dir, "users", "role", "first@example.com", "developer")
    assert demoted.returncode == 0 and "is now platform developer" in demoted.stdout
    gone = run(data_dir, "users", "role", "second@example.com", "none")
    assert gone.returncode == 1  # second is the last owner now
    nobody = run(data_dir, "users", "role", "nobody@example.com", "admin")
    assert nobody.returncode == 1 and "no user" in nobody.stderr
    bad = run(data_dir, "users", "role", "first@example.com", "god")
    assert bad.returncode == 2 and "developer" in bad.stderr
